use nn::prelude::*;

fn main() {
    let _model = sequential![Input<2>, Dense<4, rleu>, Dense<1, sigmod>];
}
