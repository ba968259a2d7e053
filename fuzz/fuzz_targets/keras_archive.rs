//! `load_keras` on any bytes: a typed error or the weights, never a panic; a failed load
//! changes nothing. And `archive_with_member` (what `nn convert` writes a `.keras` with) on the
//! same bytes: an error or an archive whose member reads back as written, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nn::prelude::*;
use nn::weights::keras::{archive_member, archive_with_member};
use nn_fuzz::Fuzzed;

fuzz_target!(|data: &[u8]| {
    let mut model = Fuzzed::boxed_zeros();
    if model.load_keras(data).is_err() {
        assert!(*model == *Fuzzed::boxed_zeros(), "a failed load changed the model");
    }
    if let Ok(rewritten) = archive_with_member(data, "model.weights.h5", b"weights") {
        assert_eq!(archive_member(&rewritten, "model.weights.h5").ok(), Some(&b"weights"[..]));
        if let Ok(config) = archive_member(data, "config.json") {
            assert_eq!(archive_member(&rewritten, "config.json").ok(), Some(config));
        }
    }
});
