use nn::prelude::*;

fn main() {
    // 2×5×4 images cannot hold a 3×3 kernel without padding.
    let _model = sequential![Input<2, 5, 4>, Conv2D<8, 3>];
    // Dilation widens the window: 3 taps 4 apart span 9 steps.
    let _seq = sequential![Input<8, 2>, Conv1D<4, 3, dilation_rate = 4>];
}
