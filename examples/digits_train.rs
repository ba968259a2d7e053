//! Trains a 64→64→10 MLP on scikit-learn's 8×8 digits (committed in `examples/data/`, with a
//! fixed 80/20 split), prints its test accuracy beside Keras 3's for the same split,
//! architecture and hyper-parameters (`scripts/make_digits_fixture.py`), and draws the loss
//! and accuracy curves as an SVG picture.
//!
//! ```sh
//! cargo run --release --example digits_train
//! ```

use nn::prelude::*;
use nn::train::loss::SparseCategoricalCrossentropy;
use nn::train::optimizer::Adam;
use nn::train::{Compile, Fit, History, Verbosity};
use std::fmt::Write as _;

sequential! {
    /// Keras's `Sequential([Input((64,)), Dense(64, activation="relu"), Dense(10, activation="softmax")])`.
    pub struct Digits { Input<64>, Dense<64, relu>, Dense<10, softmax> }
}

/// Flat pixels (scaled by 1/16) and labels (as floats) of one split.
type Split = (Vec<f32>, Vec<f32>);

/// `examples/data/digits.bin` (see `examples/data/README.md`): the train split, then the test
/// split.
fn load() -> (Split, Split) {
    let bytes = include_bytes!("data/digits.bin");
    assert_eq!(&bytes[..8], b"DIGITS1\n", "examples/data/digits.bin: not a digits file");
    let count =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
    let (train, test) = (count(8), count(12));
    let samples: Vec<&[u8]> = bytes[16..].chunks_exact(65).collect();
    let split = |rows: &[&[u8]]| {
        let x = rows.iter().flat_map(|r| r[1..].iter().map(|p| f32::from(*p) / 16.0)).collect();
        let y = rows.iter().map(|r| f32::from(r[0])).collect();
        (x, y)
    };
    (split(&samples[..train]), split(&samples[train..train + test]))
}

/// Keras's mean test accuracy over its seeds, from `examples/data/digits_keras.txt`.
fn keras_accuracy() -> f64 {
    include_str!("data/digits_keras.txt")
        .lines()
        .find_map(|l| l.strip_prefix("mean "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

fn main() {
    let ((x_train, y_train), (x_test, y_test)) = load();
    let mut model = Digits::boxed_seeded(0);
    let mut trainer = model
        .compile(Adam::new(0.001), SparseCategoricalCrossentropy::DEFAULT)
        .and_then(|t| t.metrics(&["accuracy"]))
        .expect("the loss and metric fit the model")
        .seed(0);
    println!("{}", trainer.summary(32));
    let options = Fit { epochs: 30, batch_size: 32, verbose: Verbosity::Line, ..Fit::default() };
    let history =
        trainer.fit_flat(&[&x_train], &[&y_train], options, &mut []).expect("the data fits the model");
    let test = trainer.evaluate_flat(&[&x_test], &[&y_test], 32).expect("the data fits the model");
    let accuracy = test.get("accuracy").unwrap_or(f64::NAN);
    println!("test accuracy: {:.2}%", 100.0 * accuracy);
    println!(
        "Keras 3, same split, model and hyper-parameters (mean of 5 seeds): {:.2}%",
        100.0 * keras_accuracy()
    );

    let path =
        std::path::Path::new(option_env!("CARGO_TARGET_DIR").unwrap_or("target")).join("digits_train.svg");
    match std::fs::write(&path, curves(&history)) {
        Ok(()) => println!("loss and accuracy curves: {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// The loss and the accuracy epoch by epoch, two panels side by side.
fn curves(history: &History) -> String {
    let (w, h, pad) = (360.0, 240.0, 40.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{h}\" font-family=\"sans-serif\" \
         font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        2.0 * w
    );
    for (panel, (name, color)) in [("loss", "#d62728"), ("accuracy", "#1f77b4")].into_iter().enumerate() {
        let values = history.get(name);
        let (lo, hi) =
            values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
        let span = (hi - lo).max(1e-9);
        let x0 = panel as f64 * w;
        let point = |i: usize, v: f64| {
            let x = x0 + pad + (w - 2.0 * pad) * i as f64 / (values.len().max(2) - 1) as f64;
            let y = h - pad - (h - 2.0 * pad) * (v - lo) / span;
            format!("{x:.1},{y:.1}")
        };
        let points: Vec<String> = values.iter().enumerate().map(|(i, v)| point(i, *v)).collect();
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"20\" text-anchor=\"middle\">{name} by epoch</text>\n\
             <line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"black\"/>\n\
             <line x1=\"{l}\" y1=\"{pad}\" x2=\"{l}\" y2=\"{b}\" stroke=\"black\"/>\n\
             <text x=\"{l}\" y=\"{}\" text-anchor=\"end\">{hi:.3} </text>\n\
             <text x=\"{l}\" y=\"{b}\" text-anchor=\"end\">{lo:.3} </text>\n\
             <text x=\"{r}\" y=\"{}\" text-anchor=\"end\">epoch {}</text>\n\
             <polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\n",
            x0 + w / 2.0,
            pad + 4.0,
            h - pad + 16.0,
            values.len(),
            points.join(" "),
            l = x0 + pad,
            r = x0 + w - pad,
            b = h - pad,
        );
    }
    svg.push_str("</svg>\n");
    svg
}
