use nn::prelude::*;

sequential! {
    struct Wrong {
        Input<4>,
        Dense<4, threshold>,
        Dense<4, threshold(0.5)>,
        Dense<4, threshold(default_value = 0.0)>,
        Dense<4, threshold(threshold = true, default_value = 0.0)>,
        Dense<4, celu(beta = 1.0)>,
        Dense<4, soft_shrink(0.5, 1.0)>,
        Activation<squareplus(b = true)>,
        Dense<4, square_plus>,
        Activation<hardtanh>,
    }
}

fn main() {}
