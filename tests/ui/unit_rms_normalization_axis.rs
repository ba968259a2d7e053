use nn::prelude::*;

fn main() {
    let _unit = sequential![Input<5, 4>, UnitNormalization<axis = 1>];
    let _rms = sequential![Input<4, 5, 3>, RMSNormalization<axis = (1, 2)>];
}
