//! `nn inspect` on every Keras model under `tests/fixtures`: each one the test suite compiles
//! with `keras_model!` is reported as compiling (exit status 0), and the model it refuses
//! (`unsupported.keras`, whose compile error `tests/ui/keras_model_unsupported_layer.stderr`
//! holds) is reported with the macro's own words (exit status 1).

mod common;

use common::{fixtures, keras_files, nn};
use std::path::Path;
use std::process::Command;

fn inspect(path: &Path) -> (i32, String) {
    let out = nn(["inspect".as_ref(), path.as_os_str()]);
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn every_fixture_is_reported_as_keras_model_compiles_it() {
    for path in &keras_files() {
        let (status, out) = inspect(path);
        if path.ends_with("unsupported.keras") {
            assert_eq!(status, 1, "{out}");
            // The message of tests/ui/keras_model_unsupported_layer.stderr, word for word.
            let ui =
                std::fs::read_to_string(fixtures().join("../../ui/keras_model_unsupported_layer.stderr"))
                    .unwrap();
            let message = ui.lines().next().unwrap().trim_start_matches("error: ");
            assert!(out.contains(&format!("  - {message}\n")), "{out}");
            assert!(out.starts_with("nn cannot compile this model:"), "{out}");
        } else {
            assert_eq!(status, 0, "{}:\n{out}", path.display());
            assert!(out.contains("Total params: "), "{out}");
            assert!(out.contains("nn compiles this model"), "{out}");
        }
    }
}

#[test]
fn the_costs_follow_the_summary() {
    let (status, out) = inspect(&fixtures().join("residual.keras"));
    assert_eq!(status, 0, "{out}");
    // Dense 4 → 8 → 4, Add, Dense 2 (see tests/inspect.rs for the hand counts).
    assert!(out.contains(" Total params: 86 (344.00 B)\n"), "{out}");
    assert!(out.contains(" Multiply-accumulates per sample: 72\n"), "{out}");
    assert!(out.contains(" Activations of one predict: 18 values (72.00 B of f32)"), "{out}");
}

#[test]
fn dsl_prints_source_or_every_refusal() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_nn")).arg("dsl").arg(fixtures().join("xor.keras")).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let source = String::from_utf8(out.stdout).unwrap();
    // tests/dsl.rs compiles this source and checks its outputs against keras_model!'s.
    assert!(source.contains("sequential! {\n    pub struct Xor {\n"), "{source}");
    let out = Command::new(env!("CARGO_BIN_EXE_nn"))
        .args(["dsl", "--name", "Normalized"])
        .arg(fixtures().join("unsupported.keras"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let errors = String::from_utf8(out.stderr).unwrap();
    assert!(errors.contains("Keras layer `SpectralNormalization` is not supported by nn yet"), "{errors}");
}

#[test]
fn a_missing_file_is_an_error_on_standard_error() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_nn")).args(["inspect", "no/such/model.keras"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("error: cannot read `no/such/model.keras`"));
}
