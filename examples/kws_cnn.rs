//! A keyword-spotting CNN over 49 frames of 10 MFCCs (the benchmarks' KWS model), written in the
//! DSL and compiled from its Keras file: summary, one utterance, then a batch of 64 given as one
//! flat `(batch, 49, 10, 1)` buffer as numpy would hold it.
//!
//! Run with `cargo run --release --example kws_cnn`.

use nn::prelude::*;

sequential! {
    /// 12 keywords from a 49×10 MFCC image.
    pub struct Kws {
        Input<49, 10, 1>,
        Conv2D<16, (5, 3), strides = (2, 1), activation = relu>,
        MaxPooling2D<2>,
        Conv2D<32, 3, padding = same, activation = relu>,
        GlobalAveragePooling2D,
        Dense<12, softmax>,
    }
}

nn::keras_model! {
    /// The same architecture saved by Keras (the parity fixture), its weights compiled in.
    pub struct KwsKeras = "tests/fixtures/keras/tensor/kws_cnn.keras";
}

fn main() {
    let model = Kws::seeded(0);
    println!("{}", model.summary());

    // A made-up utterance: a smooth ripple over time and frequency.
    let mfcc: Vec<f32> =
        (0..490).map(|i| ((i / 10) as f32 * 0.3).sin() * ((i % 10) as f32 * 0.7).cos()).collect();
    let x = Tensor3::<f32, 49, 10, 1>::from_slice(&mfcc);
    let p = model.predict(&x);
    let best = p.iter().enumerate().fold((0, 0.0f32), |b, (i, v)| if *v > b.1 { (i, *v) } else { b });
    println!("one utterance: keyword {} with p = {:.3}", best.0, best.1);

    // Keras's weights, compiled in: the same input through the model read from `.keras`.
    let keras = KwsKeras::KERAS;
    let mut q = [0.0f32; 12];
    keras.predict_flat(&[&mfcc], &mut [&mut q]).expect("490 values in, 12 out");
    println!("Keras's weights: p = {:?}", q.map(|v| (v * 1000.0).round() / 1000.0));

    // 64 utterances in one `(64, 49, 10, 1)` buffer, 64 × 12 probabilities out.
    let batch: Vec<f32> = mfcc.iter().copied().cycle().take(64 * 490).collect();
    let mut out = vec![0.0f32; 64 * 12];
    model.predict_flat_batch(&[&batch], &mut [&mut out]).expect("whole samples");
    // The batch runs its Dense layer as one matrix product, which sums in another order.
    let gap = out[..12].iter().zip(p.iter()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    println!("batch of 64: first row within {gap:.1e} of the single prediction");
}
