use nn::prelude::*;

fn main() {
    // An axis the input does not have.
    let _missing_axis = sequential![Input<4, 3>, LayerNormalization<axis = 3>];
    // LayerNormalization over axes apart.
    let _apart_ln = sequential![Input<3, 2, 4>, LayerNormalization<axis = (1, 3)>];
    // Axes with a gap.
    let _gap = sequential![Input<3, 2, 4>, UnitNormalization<axis = (1, 3)>];
    // BatchNormalization's channel axis must exist.
    let _missing = sequential![Input<3, 2, 4>, BatchNormalization<axis = 4>];
    // Normalization keeps statistics over axes next to each other.
    let _apart = sequential![Input<3, 2, 4>, Normalization<axis = (1, 3)>];
}
