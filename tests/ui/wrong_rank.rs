use nn::prelude::*;

fn main() {
    let _model = sequential![Input<10, 3>, Conv2D<8, 3>];
    let _pool = sequential![Input<16>, MaxPooling1D<2>];
    let _graph = functional! {
        x = Input<4, 4, 3>;
        y = GlobalAveragePooling1D(x);
    };
    let _options = sequential![Input<8, 8, 1>, Conv2D<4, (3, 3, 3), padding = full>];
}
