use nn::prelude::*;

fn main() {
    // Padding to the aspect ratio with a fill other than Keras's default zeros.
    let _pad = sequential![Input<6, 8, 3>, Resizing<4, 4, pad_to_aspect_ratio = true, fill_value = 0.5>];
    // Antialiasing blurs before it shrinks: not what nn's resize computes.
    let _blur = sequential![Input<8, 8, 3>, Resizing<4, 4, antialias = true>];
    // Interpolations other than nearest and bilinear.
    let _cubic = sequential![Input<8, 8, 3>, Resizing<16, 16, interpolation = bicubic>];
    // Images only.
    let _flat = sequential![Input<8>, CenterCrop<2, 2>];
}
