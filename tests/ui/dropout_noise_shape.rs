use nn::prelude::*;

fn main() {
    let _length = sequential![Input<5, 4>, Dropout<0.5, noise_shape = (None, 4)>];
    let _size = sequential![Input<5, 4>, Dropout<0.5, noise_shape = (None, 3, 4)>];
    let _batch = sequential![Input<5, 4>, AlphaDropout<0.5, noise_shape = (8, 1, 4)>];
    let _gaussian = sequential![Input<5, 4>, GaussianDropout<0.5, noise_shape = (None, 1, 4)>];
}
