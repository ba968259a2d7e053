use nn::prelude::*;

fn main() {
    // Axes the input does not have.
    let _unit = sequential![Input<5, 4, 3>, UnitNormalization<axis = 0>];
    let _rms = sequential![Input<4, 5, 3>, RMSNormalization<axis = (-4, -1)>];
}
