use nn::prelude::*;

fn main() {
    let _model = sequential![Input<0>, Dense<0>];
}
