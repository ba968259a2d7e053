//! The seed's Sequential example:
//!
//! ```python
//! model = Sequential()
//! model.add(Dense(2, input_dim=1))
//! ```
//!
//! Run with `cargo run --example seed_sequential`.

use nn::prelude::*;

fn main() {
    // `Dense<1, 2>`: one input (Keras's `input_dim=1`), two units, linear activation.
    let model = sequential![Dense<1, 2>];
    println!("{}", model.summary());
    let y = model.predict(&Vector1::new(1.0));
    println!("predict([1.0]) = [{:.4}, {:.4}]", y[0], y[1]);
}
