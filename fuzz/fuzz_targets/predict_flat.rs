//! `predict_flat` and `predict_flat_batch` on any inputs and buffer lengths (NaN, infinities,
//! ids outside the table or not whole): a typed error or outputs, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nn::prelude::*;
use nn_fuzz::Fuzzed;
use std::sync::OnceLock;

/// The model with weights drawn once from a seed.
fn model() -> &'static Fuzzed {
    static MODEL: OnceLock<Box<Fuzzed>> = OnceLock::new();
    MODEL.get_or_init(|| Fuzzed::boxed_seeded(7))
}

fuzz_target!(|data: &[u8]| {
    // The first bytes pick the buffers' lengths, near the right ones; the rest are the values.
    let Some((&[a, b, c, batch], rest)) = data.split_first_chunk::<4>() else { return };
    let near = |want: usize, k: u8| (want + k as usize % 5).saturating_sub(2);
    let values: Vec<f32> =
        rest.chunks_exact(4).map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
    let n = 1 + batch as usize % 3;
    let ids_len = near(6 * n, a);
    let x_len = near(24 * n, b);
    let y_len = near(3 * n, c);
    let mut pool = values.iter().copied().cycle();
    let ids: Vec<f32> = pool.by_ref().take(ids_len.min(values.len() * 64)).collect();
    let x: Vec<f32> = pool.by_ref().take(x_len.min(values.len() * 64)).collect();
    let mut y = vec![0.0f32; y_len];
    let m = model();
    let _ = m.predict_flat(&[&ids, &x], &mut [&mut y]);
    let _ = m.predict_flat_batch(&[&ids, &x], &mut [&mut y]);
});
