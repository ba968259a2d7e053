//! A siamese network: one encoder, shared by both inputs, compares two samples.
//!
//! Run with `cargo run --example siamese`.

use nn::prelude::*;

functional! {
    /// The probability that `left` and `right` belong together.
    pub struct Siamese {
        left = Input<8>;
        right = Input<8>;
        encoder = Dense<16, relu>;
        a = encoder(left);
        b = encoder(right);
        difference = Subtract(a, b);
        squared = Multiply(difference, difference);
        cosine = Dot<normalize = true>(a, b);
        features = Concatenate(squared, cosine);
        out = Dense<1, sigmoid>(features);
    }
}

fn main() {
    let model = Siamese::seeded(3);
    // The encoder is one set of weights, called twice: its parameters count once.
    println!("{}", model.summary());
    let x = SVector::<f32, 8>::from_fn(|i, _| i as f32 / 8.0);
    let y = SVector::<f32, 8>::from_fn(|i, _| 1.0 - i as f32 / 8.0);
    println!("same sample:      {:.4}", model.predict(&(x, x))[0]);
    println!("different sample: {:.4}", model.predict(&(x, y))[0]);
}
