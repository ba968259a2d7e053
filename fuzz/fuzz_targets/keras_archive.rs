//! `load_keras` on any bytes: a typed error or the weights, never a panic; a failed load
//! changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nn::prelude::*;
use nn_fuzz::Fuzzed;

fuzz_target!(|data: &[u8]| {
    let mut model = Fuzzed::boxed_zeros();
    if model.load_keras(data).is_err() {
        assert!(*model == *Fuzzed::boxed_zeros(), "a failed load changed the model");
    }
});
