use nn::prelude::*;

sequential! {
    struct Wrong {
        Input<2, 3, 4, 5, 6, 7>,
        Dense<1, 2, 3>,
        Dense<relu>,
        Dense<2.5>,
        Dense<4, use_bais = false>,
        Dense<4, use_bias = 1>,
        Dense<4, leaky_relu(0.1, 0.2)>,
        Dense<4, sigmoid(1.0)>,
        Dense<4, elu(beta = 1.0)>,
        Activation,
    }
}

fn main() {}
