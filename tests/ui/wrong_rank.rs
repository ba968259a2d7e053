use nn::prelude::*;

fn main() {
    let _model = sequential![Input<10, 3>, Conv2D<8, 3>];
    let _pool = sequential![Input<16>, MaxPooling1D<2>];
    let _graph = functional! {
        x = Input<4, 4, 3>;
        y = GlobalAveragePooling1D(x);
    };
    let _options = sequential![Input<8, 8, 1>, Conv2D<4, (3, 3, 3), padding = full>];
    let _volume = sequential![Input<8, 8, 1>, Conv3D<4, 3>];
    let _pool3d = sequential![Input<4, 8, 8, 1>, MaxPooling3D<(2, 2)>];
    let _crop3d = sequential![Input<4, 8, 8, 1>, UpSampling3D<2>, Cropping3D<((1, 1), (0, 0), (8, 8))>];
    let _frames = sequential![Input<4, 8, 8, 1>, ConvLSTM3D<2, 3>];
}
