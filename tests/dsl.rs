//! `nn dsl`: the DSL source it prints for each `.keras` fixture nn compiles (243 of them)
//! compiles, and with the file's weights loaded (`load_keras`) gives the outputs of the model
//! `keras_model!` compiles from the same file; the fixture's `.safetensors` loads into it to the
//! same weights. The sources are committed in
//! `tests/fixtures/dsl/` (`scripts/dsl_fixtures.sh`, with `all.rs`, the modules below), and
//! checked here to be what `nn dsl` prints today.

use nn::Model;
use nn::tensor::Tensors;
use nn::weights::WeightFiles;
use std::path::Path;

/// The DSL model `D`, its weights read from the file at `path`, against `keras`, the model
/// `keras_model!` compiled from it. The inputs are fractions, or for a model that reads token
/// ids, ids 0 and 1 (every table holds them).
fn same_model<D: Model<Scalar = f32> + WeightFiles + nn::Zeroable, K: Model<Scalar = f32>>(
    keras: &K,
    path: &str,
) {
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    let mut dsl = D::boxed_seeded(7);
    dsl.load_keras(&bytes).unwrap();
    // The fixture's safetensors, named by Keras's variable paths, hold the same weights under
    // the names this model gives them (and `nn convert` reads and writes).
    if let Ok(tensors) =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path).with_extension("safetensors"))
    {
        let mut named = D::boxed_seeded(8);
        named.load_safetensors(&tensors).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(named.to_bytes() == dsl.to_bytes(), "{path}: the safetensors' weights differ");
    }
    let run = |value: &dyn Fn(usize, usize) -> f32| {
        let inputs: Vec<Vec<f32>> = (0..<D::Input as Tensors<f32>>::COUNT)
            .map(|i| (0..<D::Input as Tensors<f32>>::len_of(i)).map(|j| value(i, j)).collect())
            .collect();
        let ins: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
        let outputs = <D::Output as Tensors<f32>>::COUNT;
        let mut ours: Vec<Vec<f32>> =
            (0..outputs).map(|i| vec![0.0; <D::Output as Tensors<f32>>::len_of(i)]).collect();
        let mut theirs = ours.clone();
        let a = dsl.predict_flat(&ins, &mut ours.iter_mut().map(Vec::as_mut_slice).collect::<Vec<_>>());
        let b = keras.predict_flat(&ins, &mut theirs.iter_mut().map(Vec::as_mut_slice).collect::<Vec<_>>());
        assert_eq!(a.is_ok(), b.is_ok(), "{path}");
        a.is_ok().then_some((ours, theirs))
    };
    let fractions = |i: usize, j: usize| ((i * 31 + j * 17) % 23) as f32 / 23.0 - 0.4;
    let ids = |i: usize, j: usize| ((i + j) % 2) as f32;
    let (ours, theirs) = run(&fractions).or_else(|| run(&ids)).expect("the model takes neither input");
    assert_eq!(ours, theirs, "{path}");
}

include!("fixtures/dsl/all.rs");

#[test]
fn the_sources_are_what_nn_dsl_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    let mut dirs = vec![root.join("tests/fixtures/keras")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "keras") || path.ends_with("unsupported.keras") {
                continue;
            }
            let rel = path.strip_prefix(root.join("tests/fixtures/keras")).unwrap().with_extension("");
            let module = rel.to_str().unwrap().replace('/', "_");
            let stem = path.file_stem().unwrap().to_str().unwrap();
            let source = nn_dsl::inspect::keras_source(
                &std::fs::read(&path).unwrap(),
                &nn_dsl::inspect::type_name(stem),
            );
            let committed =
                std::fs::read_to_string(root.join(format!("tests/fixtures/dsl/{module}.rs"))).unwrap();
            assert_eq!(source.unwrap(), committed, "{module}: run scripts/dsl_fixtures.sh");
            checked += 1;
        }
    }
    assert_eq!(checked, 243);
}
