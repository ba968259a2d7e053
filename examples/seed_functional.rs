//! The seed's functional example:
//!
//! ```python
//! visible = Input(shape=(2,))
//! hidden = Dense(2)(visible)
//! model = Model(inputs=visible, outputs=hidden)
//! ```
//!
//! Run with `cargo run --example seed_functional`.

use nn::prelude::*;

fn main() {
    // The output is the last node bound; inputs are the `Input` nodes.
    let model = functional! {
        visible = Input<2>;
        hidden = Dense<2>(visible);
    };
    println!("{}", model.summary());
    let y = model.predict(&Vector2::new(1.0, -1.0));
    println!("predict([1.0, -1.0]) = [{:.4}, {:.4}]", y[0], y[1]);
}
