use nn::prelude::*;

// ConvLSTM1D reads steps of rows: (None, steps, rows, channels).
sequential! {
    struct Flat { Input<6, 3>, ConvLSTM1D<2, 3> }
}

sequential! {
    struct TooFewRows { Input<4, 2, 3>, ConvLSTM1D<2, 3> }
}

functional! {
    struct States {
        x = Input<4, 7, 2>;
        (y, h) = ConvLSTM1D<2, 3, return_state = true>(x);
    }
}

fn main() {}
