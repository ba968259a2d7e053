use nn::prelude::*;

fn main() {
    let _model = sequential![Input<2>, Dense<4>, Input<4>, Dense<1>];
}
