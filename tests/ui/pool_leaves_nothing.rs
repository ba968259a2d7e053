use nn::prelude::*;

fn main() {
    let _model = sequential![Input<3, 3, 2>, MaxPooling2D<(2, 4)>];
    let _crop = sequential![Input<4, 2>, Cropping1D<(2, 2)>];
}
