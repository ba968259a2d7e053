//! `nn dsl`: the DSL source it prints for a `.keras` file compiles, and with the file's weights
//! loaded (`load_keras`) gives the outputs of the model `keras_model!` compiles from the same
//! file. The sources are committed in `tests/fixtures/dsl/` (`scripts/dsl_fixtures.sh`), and
//! checked here to be what `nn dsl` prints today.

use nn::Model;
use nn::tensor::Tensors;
use nn::weights::WeightFiles;

/// The DSL model `D`, its weights read from the file at `path`, against `keras`, the model
/// `keras_model!` compiled from it, on pseudo-random inputs; and the committed source `file`
/// against `nn dsl`'s for the type `name`.
fn same_model<D: Model<Scalar = f32> + WeightFiles + nn::Zeroable, K: Model<Scalar = f32>>(
    keras: &K,
    path: &str,
    name: &str,
    file: &str,
) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join(path)).unwrap();
    let source = nn_dsl::inspect::keras_source(&bytes, name).unwrap();
    assert_eq!(source, std::fs::read_to_string(root.join(file)).unwrap(), "run scripts/dsl_fixtures.sh");

    let mut dsl = D::boxed_seeded(7);
    dsl.load_keras(&bytes).unwrap();
    let count = <D::Input as Tensors<f32>>::COUNT;
    let inputs: Vec<Vec<f32>> = (0..count)
        .map(|i| {
            let len = <D::Input as Tensors<f32>>::len_of(i);
            (0..len).map(|j| ((i * 31 + j * 17) % 23) as f32 / 23.0 - 0.4).collect()
        })
        .collect();
    let outputs = <D::Output as Tensors<f32>>::COUNT;
    let mut ours: Vec<Vec<f32>> =
        (0..outputs).map(|i| vec![0.0; <D::Output as Tensors<f32>>::len_of(i)]).collect();
    let mut theirs = ours.clone();
    let ins: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    dsl.predict_flat(&ins, &mut ours.iter_mut().map(Vec::as_mut_slice).collect::<Vec<_>>()).unwrap();
    keras.predict_flat(&ins, &mut theirs.iter_mut().map(Vec::as_mut_slice).collect::<Vec<_>>()).unwrap();
    assert_eq!(ours, theirs);
    assert!(ours.iter().flatten().any(|v| *v != 0.0));
}

mod xor {
    #![allow(clippy::all, missing_docs)]
    include!("fixtures/dsl/xor.rs");
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/xor.keras"; }

    #[test]
    fn compiles_to_keras_models_outputs() {
        super::same_model::<Xor, Keras>(
            &Keras::KERAS,
            "tests/fixtures/keras/xor.keras",
            "Xor",
            "tests/fixtures/dsl/xor.rs",
        );
    }
}

mod residual {
    #![allow(clippy::all, missing_docs)]
    include!("fixtures/dsl/residual.rs");
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/residual.keras"; }

    #[test]
    fn compiles_to_keras_models_outputs() {
        super::same_model::<Residual, Keras>(
            &Keras::KERAS,
            "tests/fixtures/keras/residual.keras",
            "Residual",
            "tests/fixtures/dsl/residual.rs",
        );
    }
}

mod siamese {
    #![allow(clippy::all, missing_docs)]
    include!("fixtures/dsl/siamese.rs");
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/siamese.keras"; }

    #[test]
    fn compiles_to_keras_models_outputs() {
        super::same_model::<Siamese, Keras>(
            &Keras::KERAS,
            "tests/fixtures/keras/siamese.keras",
            "Siamese",
            "tests/fixtures/dsl/siamese.rs",
        );
    }
}

mod multi_io {
    #![allow(clippy::all, missing_docs)]
    include!("fixtures/dsl/multi_io.rs");
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/multi_io.keras"; }

    #[test]
    fn compiles_to_keras_models_outputs() {
        super::same_model::<MultiIo, Keras>(
            &Keras::KERAS,
            "tests/fixtures/keras/multi_io.keras",
            "MultiIo",
            "tests/fixtures/dsl/multi_io.rs",
        );
    }
}

mod nested_siamese {
    #![allow(clippy::all, missing_docs)]
    include!("fixtures/dsl/nested_siamese.rs");
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/nested_siamese.keras"; }

    #[test]
    fn compiles_to_keras_models_outputs() {
        super::same_model::<NestedSiamese, Keras>(
            &Keras::KERAS,
            "tests/fixtures/keras/tensor/nested_siamese.keras",
            "NestedSiamese",
            "tests/fixtures/dsl/nested_siamese.rs",
        );
    }
}

mod nested_conv_autoencoder {
    #![allow(clippy::all, missing_docs)]
    include!("fixtures/dsl/nested_conv_autoencoder.rs");
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/nested_conv_autoencoder.keras"; }

    #[test]
    fn compiles_to_keras_models_outputs() {
        super::same_model::<NestedConvAutoencoder, Keras>(
            &Keras::KERAS,
            "tests/fixtures/keras/tensor/nested_conv_autoencoder.keras",
            "NestedConvAutoencoder",
            "tests/fixtures/dsl/nested_conv_autoencoder.rs",
        );
    }
}

mod lstm_return_state {
    #![allow(clippy::all, missing_docs)]
    include!("fixtures/dsl/lstm_return_state.rs");
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/rnn/lstm_return_state.keras"; }

    #[test]
    fn compiles_to_keras_models_outputs() {
        super::same_model::<LstmReturnState, Keras>(
            &Keras::KERAS,
            "tests/fixtures/keras/rnn/lstm_return_state.keras",
            "LstmReturnState",
            "tests/fixtures/dsl/lstm_return_state.rs",
        );
    }
}

mod mha_attention_mask {
    #![allow(clippy::all, missing_docs)]
    include!("fixtures/dsl/mha_attention_mask.rs");
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/mha_attention_mask.keras"; }

    #[test]
    fn compiles_to_keras_models_outputs() {
        super::same_model::<MhaAttentionMask, Keras>(
            &Keras::KERAS,
            "tests/fixtures/keras/tensor/mha_attention_mask.keras",
            "MhaAttentionMask",
            "tests/fixtures/dsl/mha_attention_mask.rs",
        );
    }
}

mod dense_bn_mlp {
    #![allow(clippy::all, missing_docs)]
    include!("fixtures/dsl/dense_bn_mlp.rs");
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/norm/dense_bn_mlp.keras"; }

    #[test]
    fn compiles_to_keras_models_outputs() {
        super::same_model::<DenseBnMlp, Keras>(
            &Keras::KERAS,
            "tests/fixtures/keras/norm/dense_bn_mlp.keras",
            "DenseBnMlp",
            "tests/fixtures/dsl/dense_bn_mlp.rs",
        );
    }
}
