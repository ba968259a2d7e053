use nn::prelude::*;

fn main() {
    let _model = functional! {
        left = Input<4>;
        right = Input<5>;
        shared = Dense<16, relu>;
        a = shared(left);
        b = shared(right);
        out = Concatenate(a, b);
    };
}
