use nn::prelude::*;

fn main() {
    let _model = sequential![Input<2>, Add, Dense<1>];
}
