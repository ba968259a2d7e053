use nn::prelude::*;

fn main() {
    // The kernel's axes in another order than the input's: not a Dense layer as it stands.
    let _swapped = sequential![Input<6, 3>, EinsumDense<"abc,dc->abd", (6, 4)>];
    // A bias over only some of the axes the kernel makes.
    let _partial = sequential![Input<5, 6>, EinsumDense<"abc,cde->abde", (5, 2, 3), bias_axes = "e">];
    // The position axis must keep its size.
    let _resized = sequential![Input<5, 6>, EinsumDense<"abc,cd->abd", (7, 4)>];
    // Not an equation.
    let _words = sequential![Input<5>, EinsumDense<"dense", 4>];
}
