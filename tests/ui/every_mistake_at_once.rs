use nn::prelude::*;

// Three unrelated mistakes, all reported by one compile.
fn main() {
    let _model = sequential![Input<2>, Dense<3, 4, relu>, Dense<4, tanhh>, Conv<3>];
}
