//! `nn plot` on every Keras model under `tests/fixtures`: a well-formed SVG with a box per layer
//! of the model's summary, written to the file `-o` names or to standard output; the model nn
//! refuses gets every reason on standard error and exit status 1. (tests/plot.rs checks the
//! pictures' boxes and edges; tests/inspect.rs that the command draws what `plot_svg()` does.)

mod common;

use common::{fixtures, keras_files, nn};
use std::path::Path;

#[test]
fn every_fixture_is_drawn() {
    for path in &keras_files() {
        let out = nn(["plot".as_ref(), path.as_os_str()]);
        if path.ends_with("unsupported.keras") {
            assert_eq!(out.status.code(), Some(1));
            let errors = String::from_utf8(out.stderr).unwrap();
            assert!(errors.starts_with("error: nn cannot compile this model:\n  - "), "{errors}");
            assert!(out.stdout.is_empty());
            continue;
        }
        assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        let svg = String::from_utf8(out.stdout).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let boxes = doc.descendants().filter(|n| n.attribute("class") == Some("layer")).count();
        let report = nn_dsl_rows(path);
        assert_eq!(boxes, report, "{}", path.display());
    }
}

/// How many layers `nn inspect`'s summary lists for `path`.
fn nn_dsl_rows(path: &Path) -> usize {
    let out = nn(["inspect".as_ref(), path.as_os_str()]);
    let summary = String::from_utf8(out.stdout).unwrap();
    // Each row's first line starts `│ name (Class)`; a wrapped cell's next lines start `│ ` too,
    // but only a row's first line has the class in parentheses right after the name.
    summary
        .lines()
        .filter(|l| l.starts_with("│ ") && l.split('│').nth(1).is_some_and(|c| c.trim_end().ends_with(')')))
        .count()
}

#[test]
fn the_picture_goes_to_the_file_named() {
    let dir = std::env::temp_dir().join(format!("nn-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("residual.svg");
    let model = fixtures().join("residual.keras");
    let out = nn(["plot".as_ref(), model.as_os_str(), "-o".as_ref(), file.as_os_str()]);
    assert!(out.status.success() && out.stdout.is_empty());
    let printed = nn(["plot".as_ref(), model.as_os_str()]).stdout;
    assert_eq!(std::fs::read(&file).unwrap(), printed);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_is_no_model_is_an_error() {
    let out = nn(["plot".as_ref(), fixtures().join("../../plot.rs").as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("error: "));
}

#[test]
fn the_readmes_picture_is_what_nn_plot_draws_today() {
    let model = fixtures().join("tensor/transformer_encoder.keras");
    let drawn = nn(["plot".as_ref(), model.as_os_str()]).stdout;
    let committed = std::fs::read(fixtures().join("../../../docs/transformer_encoder.svg")).unwrap();
    assert!(drawn == committed, "run `nn plot {} -o docs/transformer_encoder.svg`", model.display());
}
