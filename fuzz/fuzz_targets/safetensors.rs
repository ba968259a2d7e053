//! `load_safetensors` on any bytes: a typed error or the weights, never a panic; a failed load
//! changes nothing, and what loads writes back and loads again bit for bit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nn::prelude::*;
use nn_fuzz::Fuzzed;

fuzz_target!(|data: &[u8]| {
    let mut model = Fuzzed::boxed_zeros();
    match model.load_safetensors(data) {
        Err(_) => assert!(*model == *Fuzzed::boxed_zeros(), "a failed load changed the model"),
        Ok(()) => {
            let written = model.to_safetensors().expect("writes what it read");
            let mut again = Fuzzed::boxed_zeros();
            again.load_safetensors(&written).expect("reads what it wrote");
            assert_eq!(again.to_bytes(), model.to_bytes(), "weights changed through a write");
        }
    }
});
