//! Weight files: safetensors with Keras's names, the raw format compiled into `static`s, and
//! what malformed or hostile files do (typed errors, never a panic, never a partial load).

use nn::prelude::*;
use nn::weights::WeightsError;
use nn::weights::bytes::BytesError;

sequential! {
    /// The XOR model of `examples/xor.rs`.
    pub struct Xor { Input<2>, Dense<8, relu>, Dense<1, sigmoid> }
}

functional! {
    struct Siamese {
        left = Input<3>;
        right = Input<3>;
        shared = Dense<4, tanh>;
        a = shared(left);
        b = shared(right);
        d = Subtract(a, b);
        out = Dense<1, sigmoid>(d);
    }
}

functional! {
    struct Siamese64<f64> {
        left = Input<3>;
        right = Input<3>;
        shared = Dense<4, tanh>;
        a = shared(left);
        b = shared(right);
        d = Subtract(a, b);
        out = Dense<1, sigmoid>(d);
    }
}

/// The weights `examples/xor.rs` gives by hand; `tests/fixtures/xor.nnw` holds them.
fn known_xor() -> Xor {
    Xor::from_layers(
        Dense::from_arrays(
            [[1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]],
            [0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ),
        Dense::from_arrays([[10.0], [-20.0], [0.0], [0.0], [0.0], [0.0], [0.0], [0.0]], [-5.0]),
    )
}

static XOR: Xor = Xor::from_bytes(include_bytes!("fixtures/xor.nnw"));

#[test]
fn the_compiled_in_weights_are_the_known_ones() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/xor.nnw");
    if std::env::var_os("NN_BLESS").is_some() {
        std::fs::write(path, known_xor().to_bytes()).unwrap();
    }
    assert_eq!(std::fs::read(path).unwrap(), known_xor().to_bytes(), "rerun with NN_BLESS=1 to regenerate");
    assert_eq!(XOR, known_xor());
    for (a, b) in [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)] {
        let p = XOR.predict(&Vector2::new(a, b))[0];
        assert_eq!(p > 0.5, (a != b), "xor({a}, {b}) = {p}");
    }
}

#[test]
fn raw_bytes_round_trip_and_check_their_header() {
    let model = Siamese::seeded(5);
    let bytes = model.to_bytes();
    let mut back = Siamese::zeros();
    back.load_bytes(&bytes).unwrap();
    assert_eq!(back, model);
    assert_eq!(
        back.load_bytes(&bytes[..bytes.len() - 1]),
        Err(BytesError::Count { expected: 21, found: 21 })
    );
    assert_eq!(back.load_bytes(&Xor::zeros().to_bytes()), Err(BytesError::Count { expected: 21, found: 33 }));
    assert_eq!(Siamese64::zeros().load_bytes(&bytes), Err(BytesError::Width { expected: 8, found: 4 }));
    assert_eq!(back.load_bytes(b"NNW"), Err(BytesError::NotWeights));
    assert_eq!(back, model, "failed loads write nothing");
}

#[test]
fn safetensors_round_trip_with_keras_names_and_shapes() {
    let model = Siamese::seeded(7);
    let file = model.to_safetensors().unwrap();
    let mut back = Siamese::zeros();
    back.load_safetensors(&file).unwrap();
    assert_eq!(back, model);
    // An f32 file into an f64 model converts.
    let mut wide = Siamese64::zeros();
    wide.load_safetensors(&file).unwrap();
    assert_eq!(wide.shared.kernel[(2, 1)], model.shared.kernel[(2, 1)] as f64);
    let header =
        String::from_utf8_lossy(&file[8..8 + u64::from_le_bytes(file[..8].try_into().unwrap()) as usize])
            .to_string();
    assert!(header.contains(r#""shared/kernel":{"dtype":"F32","shape":[3,4]"#), "{header}");
    assert!(header.contains(r#""dense/bias":{"dtype":"F32","shape":[1]"#), "{header}");
}

/// A safetensors file with the given tensors, each zero-filled to its dtype and shape.
fn file(tensors: &[(&str, &str, &[usize])]) -> Vec<u8> {
    let width = |d: &str| match d {
        "F64" | "I64" => 8,
        "F16" | "BF16" => 2,
        _ => 4,
    };
    let (mut json, mut offset) = (String::from("{"), 0);
    for (i, (name, dtype, shape)) in tensors.iter().enumerate() {
        let len = shape.iter().product::<usize>() * width(dtype);
        let sep = if i > 0 { "," } else { "" };
        json += &format!(
            r#"{sep}"{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{offset},{}]}}"#,
            offset + len
        );
        offset += len;
    }
    json += "}";
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    out.resize(out.len() + offset, 0);
    out
}

const XOR_TENSORS: [(&str, &str, &[usize]); 4] = [
    ("dense/kernel", "F32", &[2, 8]),
    ("dense/bias", "F32", &[8]),
    ("dense_1/kernel", "F32", &[8, 1]),
    ("dense_1/bias", "F32", &[1]),
];

#[test]
fn files_that_do_not_fit_are_typed_errors_naming_the_layer() {
    let mut model = known_xor();
    assert_eq!(model.load_safetensors(&file(&XOR_TENSORS)), Ok(()));
    assert_eq!(model, Xor::zeros(), "a zero-filled file loads zeros");

    let mut model = known_xor();
    let missing = file(&XOR_TENSORS[..3]);
    let err = model.load_safetensors(&missing).unwrap_err();
    let tensor = "dense_1/bias".to_string();
    assert_eq!(err, WeightsError::Missing { layer: "dense_1", weight: "bias", tensor, expected: vec![1] });
    assert_eq!(
        err.to_string(),
        "layer `dense_1`: the file has no `dense_1/bias` for its `bias` (expected shape [1])"
    );

    let mut extra = XOR_TENSORS.to_vec();
    extra.push(("dense_2/kernel", "F32", &[1, 1]));
    assert_eq!(
        model.load_safetensors(&file(&extra)),
        Err(WeightsError::Extra { name: "dense_2/kernel".into() })
    );

    let mut shape = XOR_TENSORS;
    shape[0] = ("dense/kernel", "F32", &[3, 8]);
    let err = model.load_safetensors(&file(&shape)).unwrap_err();
    assert_eq!(
        err,
        WeightsError::Shape { layer: "dense", weight: "kernel", expected: vec![2, 8], found: vec![3, 8] }
    );
    assert_eq!(
        err.to_string(),
        "layer `dense`: `kernel` has shape [3, 8] in the file, the model expects [2, 8]"
    );

    let mut dtype = XOR_TENSORS;
    dtype[2] = ("dense_1/kernel", "BF16", &[8, 1]);
    let err = model.load_safetensors(&file(&dtype)).unwrap_err();
    assert_eq!(err, WeightsError::Dtype { layer: "dense_1", weight: "kernel", found: "BF16".into() });

    assert!(matches!(model.load_safetensors(b"not a file"), Err(WeightsError::Format(_))));
    assert_eq!(model, known_xor(), "no failed load wrote anything");
}

#[test]
fn every_truncation_is_an_error_and_changes_nothing() {
    let good = known_xor().to_safetensors().unwrap();
    for len in 0..good.len() {
        let mut model = known_xor();
        assert!(model.load_safetensors(&good[..len]).is_err(), "truncated to {len} bytes");
        assert_eq!(model, known_xor());
    }
}

/// The committed regression corpus: malformed files that must each be refused.
#[test]
fn the_regression_corpus_is_refused() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/corpus");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let mut model = known_xor();
        assert!(model.load_safetensors(&bytes).is_err(), "{} loaded", path.display());
        assert_eq!(model.load_bytes(&bytes).map_err(|_| ()), Err(()), "{}", path.display());
        assert_eq!(model, known_xor());
        count += 1;
    }
    assert!(count >= 8, "the corpus has {count} files");
}

/// A deterministic mutation fuzzer over both loaders: flipped bytes, truncations, forged
/// lengths and offsets, spliced garbage. Any panic fails the test; a mutant that still loads
/// must have loaded finite numbers or kept the model whole. `NN_FUZZ_ITERS` runs it longer.
#[test]
fn mutated_files_never_panic() {
    let iterations: u64 = std::env::var("NN_FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000);
    let seeds = [known_xor().to_safetensors().unwrap(), known_xor().to_bytes(), file(&XOR_TENSORS)];
    let mut rng = nn::init::Rng::new(2026);
    for i in 0..iterations {
        let mut bytes = seeds[(i % 3) as usize].clone();
        for _ in 0..1 + rng.next_u64() % 4 {
            let at = (rng.next_u64() as usize) % bytes.len().max(1);
            match rng.next_u64() % 6 {
                0 => bytes[at] ^= 1 << (rng.next_u64() % 8),
                1 => bytes.truncate(at),
                2 if bytes.len() >= 8 => bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes()),
                3 => bytes.insert(at, rng.next_u64() as u8),
                4 => {
                    // Rewrite a digit in the JSON header: forged shapes and offsets.
                    if let Some(p) = bytes.iter().skip(8).position(|b| b.is_ascii_digit()) {
                        bytes[8 + p] = b'0' + (rng.next_u64() % 10) as u8;
                    }
                }
                _ => bytes.extend((0..rng.next_u64() % 16).map(|_| rng.next_u64() as u8)),
            }
            if bytes.is_empty() {
                break;
            }
        }
        let mut model = known_xor();
        let _ = model.load_safetensors(&bytes);
        let mut model = known_xor();
        if model.load_bytes(&bytes).is_ok() {
            let _ = model.predict(&Vector2::new(1.0, 0.0));
        }
    }
}

sequential! {
    /// Named by the DSL per model: its `dense` is also the name of [`SharedNames`]' own layer.
    struct InnerDense { Input<2>, Dense<2> }
}

functional! {
    struct SharedNames {
        x = Input<2>;
        h = Model<InnerDense, 2, 2>(x);
        y = Dense<1>(h);
    }
}

/// Found by `fuzz/`'s seeds: two weights of one name made the safetensors writer panic (in the
/// `safetensors` crate) and the Keras reader fill one weight twice. Files keyed by name now
/// refuse such a model with the name, and positional formats still work.
#[test]
fn weights_of_one_name_are_refused_by_the_formats_that_key_by_name() {
    let mut model = SharedNames::seeded(1);
    let shared = WeightsError::SharedName { name: "dense/kernel".into() };
    assert_eq!(model.to_safetensors(), Err(shared.clone()));
    assert_eq!(model.load_safetensors(&Xor::seeded(1).to_safetensors().unwrap()), Err(shared.clone()));
    assert_eq!(model.to_keras_weights(), Err(shared.clone()));
    assert_eq!(model.load_keras_weights(&Xor::seeded(1).to_keras_weights().unwrap()), Err(shared.clone()));
    assert!(shared.to_string().contains("label the layers apart"));
    let bytes = model.to_bytes();
    let mut again = SharedNames::zeros();
    again.load_bytes(&bytes).unwrap();
    assert_eq!(again, model);
}

/// Found by `fuzz/` (`raw_bytes`): a header whose reserved bytes 5 to 7 were set loaded as if
/// they were zero, so a later version's file would have been misread rather than refused.
#[test]
fn raw_bytes_with_reserved_header_bytes_set_are_refused() {
    let mut bytes = Xor::seeded(1).to_bytes();
    for at in 5..8 {
        let mut bad = bytes.clone();
        bad[at] = 1;
        assert_eq!(Xor::zeros().load_bytes(&bad), Err(BytesError::NotWeights), "byte {at}");
    }
    bytes[5] = 0;
    assert!(Xor::zeros().load_bytes(&bytes).is_ok());
}
