use nn::prelude::*;

fn main() {
    let _model = functional! {
        x = Input<2>;
        a = Add(x, b);
        b = Dense<2>(a);
        c = Dense<1>(b);
    };
}
