//! A recurrent model from a Keras file, run one sample at a time over a signal, as an audio
//! plugin or a control loop would: `#[stream]` gives the model a `step` and a fixed-size state,
//! and nothing is allocated per sample.
//!
//! The model (`tests/fixtures/keras/rnn/stream_model.keras`, made by
//! `scripts/make_rnn_fixtures.py`) is Dense 1→8 tanh, causal Conv1D 8→4 kernel 3 dilation 2 tanh,
//! GRU 4→8 returning every step, Dense 8→1: Keras built it over windows of 20 samples, and
//! stepping gives, sample by sample, what Keras gives on the whole window.
//!
//! Run with `cargo run --release --example gru_stream`.

use nn::prelude::*;

nn::keras_model! {
    /// The streaming model, its weights compiled in.
    #[stream]
    pub struct Filter = "tests/fixtures/keras/rnn/stream_model.keras";
}

fn main() {
    let model = Filter::KERAS;
    println!("{}", model.summary());

    // A 440 Hz tone at 8 kHz with a click in it, one sample per call.
    let mut state = FilterState::ZEROS;
    let signal: Vec<f32> = (0..64)
        .map(|n| {
            (2.0 * core::f32::consts::PI * 440.0 * n as f32 / 8000.0).sin() + if n == 40 { 1.0 } else { 0.0 }
        })
        .collect();
    for (n, &sample) in signal.iter().enumerate() {
        let y = model.step(&mut state, &SVector::from([sample]));
        if n % 8 == 7 {
            println!("sample {n:2}: in {sample:+.3} → out {:+.4}", y[0]);
        }
    }

    // The first 20 samples through `predict` at once agree with the first 20 steps.
    let window = &signal[..20];
    let whole = model.predict(&Tensor2::from_slice(window));
    let mut again = FilterState::ZEROS;
    let worst = window
        .iter()
        .zip(whole.as_slice())
        .map(|(x, want)| (model.step(&mut again, &SVector::from([*x]))[0] - want).abs())
        .fold(0.0f32, f32::max);
    println!("step against predict over the first window: worst difference {worst:.1e}");

    // A new signal starts from a clean state.
    state.reset();
}
