//! A model with known weights that classifies all four XOR cases, built in a `static`.
//!
//! Run with `cargo run --example xor`.

use nn::prelude::*;

sequential! {
    /// Two inputs in {0, 1}; outputs the probability that exactly one is 1.
    pub struct Xor { Input<2>, Dense<8, relu>, Dense<1, sigmoid> }
}

/// Hidden unit 0 counts the ones, unit 1 fires only when both are set; the output unit takes
/// `count - 2 * both`, which is 1 exactly for XOR. Units 2..8 are unused.
static XOR: Xor = Xor::from_layers(
    Dense::from_arrays(
        [[1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]],
        [0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    ),
    Dense::from_arrays([[10.0], [-20.0], [0.0], [0.0], [0.0], [0.0], [0.0], [0.0]], [-5.0]),
);

fn main() {
    println!("{}", XOR.summary());
    for (a, b) in [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)] {
        let p = XOR.predict(&Vector2::new(a, b))[0];
        println!("xor({a}, {b}) = {p:.4} -> {}", u8::from(p > 0.5));
    }
}
