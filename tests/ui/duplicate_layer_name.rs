use nn::prelude::*;

fn main() {
    let _model = sequential![Input<2>, hidden: Dense<4>, hidden: Dense<4>, Dense<1>];
}
