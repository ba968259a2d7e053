use nn::prelude::*;

fn main() {
    let _model = sequential![Input<2>, Dens<4>, Dense<1>];
    let _other = sequential![Input<2>, relu, Dense<1>];
}
