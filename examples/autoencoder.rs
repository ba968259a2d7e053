//! A convolutional autoencoder of scikit-learn's 8×8 digits (`examples/data/`): two strided
//! Conv2D layers squeeze a digit's 64 pixels into 16 values (2×2×4), two Conv2DTranspose layers
//! spread them back to 8×8, and a last Conv2D draws the digit. Trained with `fit` on the train split to reproduce its input,
//! it prints the test split's reconstruction error before and after, and three test digits
//! beside their reconstructions.
//!
//! ```sh
//! cargo run --release --example autoencoder
//! ```

use nn::prelude::*;
use nn::train::loss::MeanSquaredError;
use nn::train::optimizer::Adam;
use nn::train::{Compile, Fit, Verbosity};

sequential! {
    /// Keras's `Sequential([Input((8, 8, 1)), Conv2D(8, 3, strides=2, padding="same",
    /// activation="relu"), ..., Conv2D(1, 3, padding="same", activation="sigmoid")])`.
    pub struct Autoencoder {
        Input<8, 8, 1>,
        Conv2D<8, 3, strides = 2, padding = same, relu>,
        Conv2D<4, 3, strides = 2, padding = same, relu>,
        Conv2DTranspose<16, 3, strides = 2, padding = same, relu>,
        Conv2DTranspose<8, 3, strides = 2, padding = same, relu>,
        Conv2D<1, 3, padding = same, sigmoid>
    }
}

/// The pixels (scaled by 1/16) of the train and test splits of `examples/data/digits.bin` (see
/// `examples/data/README.md`), flat, 64 a digit.
fn load() -> (Vec<f32>, Vec<f32>) {
    let bytes = include_bytes!("data/digits.bin");
    assert_eq!(&bytes[..8], b"DIGITS1\n", "examples/data/digits.bin: not a digits file");
    let count =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
    let (train, test) = (count(8), count(12));
    let samples: Vec<&[u8]> = bytes[16..].chunks_exact(65).collect();
    let pixels =
        |rows: &[&[u8]]| rows.iter().flat_map(|r| r[1..].iter().map(|p| f32::from(*p) / 16.0)).collect();
    (pixels(&samples[..train]), pixels(&samples[train..train + test]))
}

/// A digit as text, one character a pixel from dark to bright.
fn draw(pixels: &[f32]) -> Vec<String> {
    const SHADES: [char; 5] = [' ', '.', ':', 'o', '@'];
    pixels
        .chunks_exact(8)
        .map(|row| row.iter().map(|v| SHADES[((v.clamp(0.0, 1.0) * 4.0).round()) as usize]).collect())
        .collect()
}

fn main() {
    let (train, test) = load();
    let mut model = Autoencoder::boxed_seeded(0);
    let mut trainer =
        model.compile(Adam::new(0.005), MeanSquaredError).expect("the loss fits the model").seed(0);
    println!("{}", trainer.summary(32));
    let error = |t: &mut nn::train::Trainer<'_, Autoencoder, Adam>| {
        t.evaluate_flat(&[&test], &[&test], 64)
            .expect("the data fits the model")
            .get("loss")
            .unwrap_or(f64::NAN)
    };
    let before = error(&mut trainer);
    let options = Fit { epochs: 40, batch_size: 32, verbose: Verbosity::Silent, ..Fit::default() };
    trainer.fit_flat(&[&train], &[&train], options, &mut []).expect("the data fits the model");
    let after = error(&mut trainer);
    println!("test reconstruction error (mean squared): {before:.4} untrained, {after:.4} after 40 epochs");

    let model = trainer.model();
    for digit in test.chunks_exact(64).take(3) {
        let x = Tensor3::<f32, 8, 8, 1>::from_slice(digit);
        let y = model.predict(&x);
        for (a, b) in draw(digit).iter().zip(draw(y.as_slice())) {
            println!("{a}   {b}");
        }
        println!();
    }
}
