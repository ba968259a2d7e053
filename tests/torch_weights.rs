//! A model trained in PyTorch, saved with `safetensors.torch.save_file`, loads through an
//! explicit mapping of layers to PyTorch modules and reproduces PyTorch's outputs.

use nn::prelude::*;
use nn::weights::WeightsError;

#[allow(clippy::approx_constant, dead_code)]
mod fx {
    include!("fixtures/torch_mlp.rs");
}

sequential! {
    /// `nn.Sequential(Linear(3, 8), ReLU(), Linear(8, 4), Tanh(), Linear(4, 2))`.
    struct TorchMlp { Input<3>, Dense<8, relu>, Dense<4, tanh>, Dense<2> }
}

/// The activations are modules of their own in PyTorch, so the Linears are modules 0, 2, 4.
const MODULES: &[(&str, &str)] = &[("dense", "0"), ("dense_1", "2"), ("dense_2", "4")];

fn file() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/torch/mlp.safetensors")).unwrap()
}

#[test]
fn a_pytorch_model_reproduces_pytorch() {
    let mut model = TorchMlp::zeros();
    model.load_torch_safetensors(&file(), MODULES).unwrap();
    let mut worst = 0.0f64;
    for (x, y) in fx::X0.iter().zip(&fx::Y0) {
        let got = model.predict(&SVector::from_fn(|i, _| x[i] as f32));
        worst = got.iter().zip(y).map(|(g, w)| (*g as f64 - w).abs()).fold(worst, f64::max);
    }
    println!("pytorch mlp: worst error {worst:.1e}");
    assert!(worst <= 1e-5, "{worst}");
}

#[test]
fn the_mapping_is_checked() {
    let mut model = TorchMlp::zeros();
    let err = model.load_torch_safetensors(&file(), &MODULES[..2]).unwrap_err();
    assert_eq!(err, WeightsError::Unmapped { layer: "dense_2" });
    let wrong = [("dense", "0"), ("dense_1", "4"), ("dense_2", "2")];
    let err = model.load_torch_safetensors(&file(), &wrong).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer `dense_1`: `kernel` has shape [2, 4] in the file, the model expects [4, 8]"
    );
    // Keras names are not PyTorch's.
    assert!(matches!(model.load_safetensors(&file()), Err(WeightsError::Missing { .. })));
    assert_eq!(model, TorchMlp::zeros());
}
