use nn::prelude::*;

fn main() {
    let _model = functional! {
        x = Input<3>;
        a = Dense<4>(x);
        b = Dense<5>(x);
        sum = Add(a, b);
    };
    // Sequences of 4 and 2 steps: neither is 1, so they do not broadcast.
    let _steps = functional! {
        p = Input<4, 3>;
        q = Input<2, 3>;
        product = Multiply(p, q);
    };
}
