use nn::prelude::*;

fn main() {
    // A padding that overflows the positions it pads.
    let _pad = sequential![Input<4, 4, 1>, ZeroPadding2D<18446744073709551615>];
    // An input too large to hold, before a pool.
    let _huge = sequential![Input<18446744073709551615, 6>, MaxPooling1D<2>];
    // An upsampling that multiplies a huge input past what a `usize` holds.
    let _up = sequential![Input<1152921504606846975, 1>, UpSampling1D<32>];
    // A dilated kernel whose span overflows.
    let _wide = sequential![Input<8, 2>, Conv1D<4, 3, dilation_rate = 18446744073709551615>];
    // Weights too many to hold: 2^32 × 2^32 of them.
    let _weights = sequential![Input<4>, Dense<4294967296>, Dense<4294967296>];
    // A size in a shape that a Keras shape cannot have.
    let _reshape = sequential![Input<4>, Reshape<(18446744073709551615, 2)>];
    // The 3-D forms: a volume too large, padding and upsampling that overflow, filters whose
    // gates (4 per filter) overflow.
    let _volume = sequential![Input<65536, 65536, 65536, 65536, 65536>];
    let _pad3d = sequential![Input<4, 4, 4, 1>, ZeroPadding3D<((18446744073709551615, 1), (0, 0), (0, 0))>];
    let _up3d = sequential![Input<4, 4, 4, 1>, UpSampling3D<(18446744073709551615, 2, 2)>];
    let _gates = sequential![Input<2, 4, 4, 4, 1>, ConvLSTM3D<18446744073709551615, 3>];
}
