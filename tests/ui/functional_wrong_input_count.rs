use nn::prelude::*;

fn main() {
    let _model = functional! {
        a = Input<2>;
        b = Input<2>;
        d = Subtract(a, b, a);
        e = Add(d);
        f = Dense<1>(d, e);
        -> (f, e);
    };
}
