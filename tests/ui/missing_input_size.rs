use nn::prelude::*;

fn main() {
    let _model = sequential![Dense<8, relu>, Dense<1>];
    let _other = sequential![Activation<relu>, Dense<1>];
}
