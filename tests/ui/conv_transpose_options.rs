use nn::prelude::*;

fn main() {
    // Keras refuses an output padding of a whole stride (or more): it would be another step.
    let _up = sequential![Input<4, 4, 2>, Conv2DTranspose<4, 3, strides = 2, output_padding = (1, 2)>];
    // `same` with an even kernel and no output padding: one step in, none out.
    let _none = sequential![Input<1, 3>, Conv1DTranspose<2, 2, padding = same, output_padding = 0>];
    // nn's transposed convolutions have one group.
    let _grouped = sequential![Input<6, 4>, Conv1DTranspose<2, 3, groups = 2>];
    // A transposed Conv2D takes images.
    let _flat = sequential![Input<6>, Conv2DTranspose<2, 3>];
}
