//! `load_keras_weights` on any bytes: a typed error or the weights, never a panic; a failed
//! load changes nothing, and what loads writes back and loads again the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nn::prelude::*;
use nn_fuzz::Fuzzed;

fuzz_target!(|data: &[u8]| {
    let mut model = Fuzzed::boxed_zeros();
    match model.load_keras_weights(data) {
        Err(_) => assert!(*model == *Fuzzed::boxed_zeros(), "a failed load changed the model"),
        Ok(()) => {
            let written = model.to_keras_weights().expect("writes what it read");
            let mut again = Fuzzed::boxed_zeros();
            again.load_keras_weights(&written).expect("reads what it wrote");
            assert!(same_bits(&*model, &*again), "weights changed through a write");
        }
    }
});

/// Equal bit for bit (NaN weights included, which `==` calls different).
fn same_bits(a: &Fuzzed, b: &Fuzzed) -> bool {
    let (mut x, mut y) = (vec![0.0f32; Fuzzed::PARAMS], vec![0.0f32; Fuzzed::PARAMS]);
    a.save_params(&mut x).is_ok()
        && b.save_params(&mut y).is_ok()
        && x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits())
}
