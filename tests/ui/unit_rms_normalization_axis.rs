use nn::prelude::*;

fn main() {
    let _unit = sequential![Input<5, 4>, UnitNormalization<axis = 1>];
}
