use nn::prelude::*;

fn main() {
    // Axes apart: nn takes axes next to each other.
    let _unit = sequential![Input<5, 4, 3>, UnitNormalization<axis = (1, 3)>];
    let _rms = sequential![Input<4, 5, 3>, RMSNormalization<axis = (-3, -1)>];
}
