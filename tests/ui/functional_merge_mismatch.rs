use nn::prelude::*;

fn main() {
    let _model = functional! {
        x = Input<3>;
        a = Dense<4>(x);
        b = Dense<5>(x);
        sum = Add(a, b);
    };
}
