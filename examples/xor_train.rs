//! Trains XOR from a seed, in Keras's words: `compile`, then `fit`, then `evaluate`.
//!
//! ```sh
//! cargo run --example xor_train
//! ```

use nn::prelude::*;
use nn::train::loss::BinaryCrossentropy;
use nn::train::optimizer::Adam;
use nn::train::{Compile, Fit, Verbosity};

sequential! {
    /// Outputs the probability that exactly one input is 1.
    pub struct Xor { Input<2>, Dense<8, tanh>, Dense<1, sigmoid> }
}

fn main() {
    let x = [Vector2::new(0.0, 0.0), Vector2::new(0.0, 1.0), Vector2::new(1.0, 0.0), Vector2::new(1.0, 1.0)];
    let y = [Vector1::new(0.0), Vector1::new(1.0), Vector1::new(1.0), Vector1::new(0.0)];

    let mut model = Xor::seeded(42);
    let mut trainer = model
        .compile(Adam::new(0.05), BinaryCrossentropy::default())
        .and_then(|t| t.metrics(&["accuracy"]))
        .expect("the loss and metric fit the model")
        .seed(42);
    let history = trainer
        .fit(
            &x,
            &y,
            Fit { epochs: 300, batch_size: 4, verbose: Verbosity::Silent, ..Fit::default() },
            &mut [],
        )
        .expect("the data fits the model");
    let logs = trainer.evaluate(&x, &y, 4).expect("the data fits the model");
    println!(
        "after {} epochs: loss {:.4} (first epoch {:.4}), accuracy {:.0}%",
        history.epochs.len(),
        logs.get("loss").unwrap_or(f64::NAN),
        history.get("loss")[0],
        100.0 * logs.get("accuracy").unwrap_or(0.0)
    );
    for (x, y) in x.iter().zip(&y) {
        println!("{:?} -> {:.3} (target {})", x.as_slice(), model.predict(x)[0], y[0]);
    }
}
