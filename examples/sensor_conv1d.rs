//! A Conv1D model over 128 steps of a 6-axis IMU (accelerometer and gyroscope), as on a
//! wearable: summary, then one window at a time through `predict`, allocation-free.
//!
//! Run with `cargo run --release --example sensor_conv1d`.

use nn::prelude::*;

sequential! {
    /// 8 activity scores from 128 steps of 6 channels.
    pub struct Sensor {
        Input<128, 6>,
        Conv1D<16, 5, strides = 2, padding = same, activation = relu>,
        MaxPooling1D<2>,
        Conv1D<32, 3, activation = relu>,
        GlobalAveragePooling1D,
        Dense<8>,
    }
}

fn main() {
    let model = Sensor::seeded(0);
    println!("{}", model.summary());

    // A sliding window over a synthetic recording, one step of 6 channels at a time.
    let mut window = Tensor2::<f32, 128, 6>::ZEROS;
    for t in 0..256 {
        // Shift the window by one step and append the newest reading.
        let flat = window.as_mut_slice();
        flat.copy_within(6.., 0);
        let phase = t as f32 * 0.1;
        let reading = [phase.sin(), phase.cos(), 0.5 * (2.0 * phase).sin(), 0.1, -0.2, phase.sin() * 0.3];
        flat[127 * 6..].copy_from_slice(&reading);
        if t % 64 == 63 {
            let scores = model.predict(&window);
            let best =
                scores.iter().enumerate().fold((0, f32::MIN), |b, (i, v)| if *v > b.1 { (i, *v) } else { b });
            println!("step {t:3}: activity {} (score {:.3})", best.0, best.1);
        }
    }
}
