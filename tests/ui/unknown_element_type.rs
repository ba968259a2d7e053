use nn::prelude::*;

sequential! {
    struct Half<f16> { Input<2>, Dense<1> }
}

fn main() {}
