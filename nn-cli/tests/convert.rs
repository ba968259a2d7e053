//! `nn convert` over every Keras fixture that has its `.weights.h5` and `.safetensors` beside it
//! (written by `scripts/make_fixtures.py`, the safetensors with Keras's variable paths, which
//! `tests/dsl.rs` loads into each compiled model): the three files give the same weights, every
//! format round-trips them bit for bit, and what the command writes it reads back to the same
//! bytes. Keras itself loads the `.keras` and `.weights.h5` files it writes (checked by hand on
//! `multi_io`, see the closing note of issue 24).

mod common;

use common::{fixtures, keras_files, nn};
use std::path::{Path, PathBuf};

/// A scratch directory of this test run's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-convert-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `nn convert input output --model model`; the output's bytes, or the error printed.
fn convert(input: &Path, output: &Path, model: &Path) -> Result<Vec<u8>, String> {
    let out = nn([
        "convert".as_ref(),
        input.as_os_str(),
        output.as_os_str(),
        "--model".as_ref(),
        model.as_os_str(),
    ]);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(std::fs::read(output).unwrap())
}

#[test]
fn every_format_round_trips_the_fixtures_bit_for_bit() {
    let dir = scratch("round-trip");
    let mut checked = 0;
    for model in keras_files() {
        let (h5, st) = (model.with_extension("weights.h5"), model.with_extension("safetensors"));
        if !h5.exists() || !st.exists() {
            continue;
        }
        let at = |name: &str| dir.join(name);
        let raw =
            convert(&model, &at("a.nnw"), &model).unwrap_or_else(|e| panic!("{}: {e}", model.display()));
        // Keras's three files hold the same weights.
        for keras_made in [&h5, &st] {
            assert_eq!(convert(keras_made, &at("b.nnw"), &model).unwrap(), raw, "{}", keras_made.display());
        }
        // Through each format and back, bit for bit; and each file written reads back to itself.
        for format in ["weights.h5", "safetensors", "keras", "nnw"] {
            let written = at(&format!("c.{format}"));
            let bytes = convert(&at("a.nnw"), &written, &model).unwrap();
            assert_eq!(
                convert(&written, &at("d.nnw"), &model).unwrap(),
                raw,
                "{} via {format}",
                model.display()
            );
            let again = at(&format!("e.{format}"));
            assert_eq!(convert(&written, &again, &model).unwrap(), bytes, "{} {format}", model.display());
        }
        checked += 1;
    }
    assert!(checked > 200, "{checked} fixtures");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_keras_output_is_the_models_archive_with_the_new_weights() {
    use nn_core::weights::keras::archive_member;
    let dir = scratch("archive");
    let model = fixtures().join("multi_io.keras");
    let written = dir.join("out.keras");
    convert(&model.with_extension("safetensors"), &written, &model).unwrap();
    let (ours, theirs) = (std::fs::read(&written).unwrap(), std::fs::read(&model).unwrap());
    for member in ["config.json", "metadata.json"] {
        assert_eq!(archive_member(&ours, member).unwrap(), archive_member(&theirs, member).unwrap());
    }
    let h5 = dir.join("out.weights.h5");
    std::fs::write(&h5, archive_member(&ours, "model.weights.h5").unwrap()).unwrap();
    let from_member = convert(&h5, &dir.join("a.nnw"), &model).unwrap();
    assert_eq!(from_member, convert(&model, &dir.join("b.nnw"), &model).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn weights_of_another_model_are_refused_naming_the_layer() {
    let dir = scratch("mismatch");
    let out = dir.join("out.nnw");
    let error = convert(&fixtures().join("residual.safetensors"), &out, &fixtures().join("multi_io.keras"))
        .unwrap_err();
    assert!(error.starts_with("error: `"), "{error}");
    assert!(error.contains("does not fit the model"), "{error}");
    assert!(error.contains("layer `"), "{error}");
    assert!(!out.exists(), "nothing is written");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_without_a_model_needs_one_named() {
    let out = nn(["convert", "weights.nnw", "weights.safetensors"]);
    assert_eq!(out.status.code(), Some(2));
    let error = String::from_utf8(out.stderr).unwrap();
    assert!(error.contains("--model model.keras"), "{error}");
}

#[test]
fn a_name_of_no_format_is_an_error() {
    let out = nn(["convert".as_ref(), fixtures().join("xor.keras").as_os_str(), "xor.bin".as_ref()]);
    assert_eq!(out.status.code(), Some(2));
    let error = String::from_utf8(out.stderr).unwrap();
    assert!(error.contains(".keras, .weights.h5, .safetensors or .nnw"), "{error}");
}
