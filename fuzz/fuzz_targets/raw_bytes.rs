//! `load_bytes` (the raw `NNW1` format) on any bytes: a typed error or the weights, never a
//! panic; a failed load changes nothing, and what loads writes back the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nn::prelude::*;
use nn_fuzz::Fuzzed;

fuzz_target!(|data: &[u8]| {
    let mut model = Fuzzed::boxed_zeros();
    match model.load_bytes(data) {
        Err(_) => assert!(*model == *Fuzzed::boxed_zeros(), "a failed load changed the model"),
        Ok(()) => assert_eq!(model.to_bytes(), data, "the bytes read are not the bytes written"),
    }
});
