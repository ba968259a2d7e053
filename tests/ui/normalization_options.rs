use nn::prelude::*;

fn main() {
    let _groups = sequential![Input<5, 4>, GroupNormalization<3>];
    let _axis = sequential![Input<5, 4>, LayerNormalization<axis = 1>];
    let _per_channel = sequential![Input<5, 3>, Normalization<mean = (1.0, 2.0), variance = 1.0>];
    let _half = sequential![Input<6>, Normalization<mean = 1.0>];
}
