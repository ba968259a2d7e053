use nn::prelude::*;

fn main() {
    let _axis = sequential![Input<5, 4>, Softmax<3>];
    let _shared = sequential![Input<5, 4>, PReLU<shared_axes = 3>];
    let _negative = sequential![Input<4>, ReLU<max_value = -1.0>];
    let _rate = sequential![Input<4>, Dropout<1.5>];
    let _rank = sequential![Input<5, 4>, SpatialDropout2D<0.5>];
}
