use nn::prelude::*;

fn main() {
    // An axis the input does not have.
    let _missing_axis = sequential![Input<4, 3>, LayerNormalization<axis = 3>];
    // An axis past the input's.
    let _past = sequential![Input<3, 2, 4>, LayerNormalization<axis = (1, 4)>];
    // An axis named twice.
    let _twice = sequential![Input<3, 2, 4>, UnitNormalization<axis = (1, -3)>];
    // BatchNormalization's channel axis must exist.
    let _missing = sequential![Input<3, 2, 4>, BatchNormalization<axis = 4>];
    // Normalization's kept axes, one named twice.
    let _kept_twice = sequential![Input<3, 2, 4>, Normalization<axis = (2, 2)>];
}
