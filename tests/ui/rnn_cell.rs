use nn::prelude::*;

fn main() {
    // Keras's generic recurrent layer runs the three recurrent cells, not any layer.
    let _dense = sequential![Input<6, 3>, RNN<Dense<4>>];
}
