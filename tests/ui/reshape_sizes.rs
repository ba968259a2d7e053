use nn::prelude::*;

fn main() {
    let _model = sequential![Input<12>, Reshape<(5, 2)>];
    let _inferred = sequential![Input<12>, Reshape<(-1, 5)>];
}
