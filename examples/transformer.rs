//! A small transformer encoder, trained from scratch with `fit`: token and learned position
//! embeddings (Keras's way without a custom layer: a second input holding the positions
//! 0..12, embedded and added), one block of multi-head self-attention and a feed-forward pair,
//! each added back and normalized, then pooled and classified.
//!
//! The task needs both attention and positions: in a sequence of 12 tokens (of 16) holding a
//! `1` and a `2` somewhere, does the first `1` come before the first `2`? It prints the model,
//! the test accuracy before and after training, and a few test sequences with the model's
//! answer.
//!
//! ```sh
//! cargo run --release --example transformer
//! ```

use nn::prelude::*;
use nn::train::loss::SparseCategoricalCrossentropy;
use nn::train::optimizer::Adam;
use nn::train::{Compile, Fit, Verbosity};

/// Tokens per sequence.
const STEPS: usize = 12;
/// Distinct tokens.
const VOCAB: usize = 16;

functional! {
    /// Keras's `MultiHeadAttention(2, 8)(x, x)` block over `Embedding(16, 16)(tokens) +
    /// Embedding(12, 16)(positions)`, with `LayerNormalization` after each residual `Add`.
    pub struct Encoder {
        tokens = Input<12>;
        positions = Input<12>;
        t = Embedding<16, 16>(tokens);
        p = Embedding<12, 16>(positions);
        x = Add(t, p);
        attended = MultiHeadAttention<2, 8>(x, x);
        s = Add(x, attended);
        h = LayerNormalization(s);
        f = Dense<32, relu>(h);
        g = Dense<16>(f);
        r = Add(h, g);
        o = LayerNormalization(r);
        pooled = GlobalAveragePooling1D(o);
        out = Dense<2, softmax>(pooled);
    }
}

/// `count` sequences (tokens, positions, labels as flat arrays): random tokens with one `1` and
/// one `2` placed at random distinct steps (the others drawn from 3..16), labelled 1 if the
/// `1` comes first.
fn data(count: usize, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = |n: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) % n as u64) as usize
    };
    let (mut tokens, mut labels) = (Vec::new(), Vec::new());
    for _ in 0..count {
        let mut seq: Vec<usize> = (0..STEPS).map(|_| 3 + next(VOCAB - 3)).collect();
        let one = next(STEPS);
        let two = (one + 1 + next(STEPS - 1)) % STEPS;
        (seq[one], seq[two]) = (1, 2);
        tokens.extend(seq.iter().map(|&t| t as f32));
        labels.push(if one < two { 1.0 } else { 0.0 });
    }
    let positions = (0..count).flat_map(|_| (0..STEPS).map(|p| p as f32)).collect();
    (tokens, positions, labels)
}

fn main() {
    let (train_x, train_p, train_y) = data(4000, 1);
    let (test_x, test_p, test_y) = data(1000, 2);
    let mut model = Encoder::boxed_seeded(0);
    println!("{}", model.summary());
    let mut trainer = model
        .compile(Adam::new(0.003), SparseCategoricalCrossentropy::DEFAULT)
        .and_then(|t| t.metrics(&["accuracy"]))
        .expect("the loss and metric fit the model")
        .seed(0);
    let accuracy = |t: &mut nn::train::Trainer<'_, Encoder, Adam>| {
        let logs = t.evaluate_flat(&[&test_x, &test_p], &[&test_y], 100).expect("the data fits the model");
        logs.get("accuracy").unwrap_or(f64::NAN)
    };
    let before = accuracy(&mut trainer);
    let options = Fit { epochs: 20, batch_size: 32, verbose: Verbosity::Silent, ..Fit::default() };
    trainer.fit_flat(&[&train_x, &train_p], &[&train_y], options, &mut []).expect("the data fits the model");
    let after = accuracy(&mut trainer);
    println!("test accuracy: {before:.3} untrained, {after:.3} after 20 epochs");

    let model = trainer.model();
    let positions: Vec<f32> = (0..STEPS).map(|p| p as f32).collect();
    for (seq, label) in test_x.chunks_exact(STEPS).zip(&test_y).take(4) {
        let mut p = [0.0f32; 2];
        model.predict_flat(&[seq, &positions], &mut [&mut p]).expect("ids within the tables");
        let shown: Vec<String> = seq.iter().map(|t| format!("{t:>2}")).collect();
        let first = if *label == 1.0 { "1 first" } else { "2 first" };
        println!("{}  ->  p(1 first) = {:.3}  ({first})", shown.join(" "), p[1]);
    }
}
