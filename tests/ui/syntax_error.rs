use nn::prelude::*;

fn main() {
    let _model = sequential![Input<2> Dense<1>];
}
