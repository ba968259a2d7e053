//! What the command's tests share: the Keras fixtures and running `nn`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's Keras fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/keras")
}

/// Every `.keras` file under the fixtures, sorted.
pub fn keras_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "keras") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&fixtures(), &mut files);
    files.sort();
    assert!(files.len() > 200, "{} fixtures", files.len());
    files
}

/// `nn` run with `args`.
pub fn nn<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nn")).args(args).output().unwrap()
}
