//! A residual block: the input skips over two Dense layers and is added back.
//!
//! Run with `cargo run --example residual`.

use nn::prelude::*;

functional! {
    /// `out = softmax(W3 · (x + W2 · relu(W1 · x)))`.
    pub struct Residual {
        x = Input<4>;
        h = Dense<8, relu>(x);
        h2 = Dense<4>(h);
        skip = Add(x, h2);
        out = Dense<2, softmax>(skip);
    }
}

fn main() {
    let model = Residual::seeded(7);
    println!("{}", model.summary());
    let p = model.predict(&Vector4::new(0.5, -1.0, 2.0, 0.0));
    println!("predict([0.5, -1.0, 2.0, 0.0]) = [{:.4}, {:.4}]", p[0], p[1]);
}
