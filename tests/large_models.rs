//! Models larger than a thread's stack: built on the heap or in a `static`, never on the stack.
//! Meaningful in a debug build (`cargo test`), where nothing is optimised away.

use nn::prelude::*;

sequential! {
    /// 109,386 weights: 427 KiB of f32, more than the 256 KiB stacks below.
    struct Mnist { Input<784>, Dense<128, relu>, Dense<64, relu>, Dense<10, softmax> }
}

static ZEROED: Mnist = Mnist::ZEROS;

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new().stack_size(256 * 1024).spawn(f).unwrap().join().unwrap();
}

#[test]
fn a_boxed_model_is_built_and_run_on_a_256_kib_stack() {
    on_small_stack(|| {
        let model = Mnist::boxed_seeded(9);
        let x = SVector::<f32, 784>::from_fn(|i, _| (i % 7) as f32 / 7.0);
        let p = model.predict(&x);
        assert!((p.sum() - 1.0).abs() < 1e-5);
        assert!(p.iter().any(|v| (v - 0.1).abs() > 1e-4), "seeded weights are not all zero");
        let zeros = Mnist::boxed_zeros();
        assert!(zeros.dense.kernel.iter().all(|w| *w == 0.0));
    });
}

#[test]
fn a_static_model_runs_on_a_256_kib_stack() {
    on_small_stack(|| {
        let p = ZEROED.predict(&SVector::from_element(1.0));
        // All-zero weights: softmax of equal logits.
        assert!(p.iter().all(|v| (v - 0.1).abs() < 1e-7));
    });
}

sequential! {
    /// 400,020,000 weights (1.6 GB of f32). Building `ZEROS` field by field had the compiler's
    /// const evaluator copy every weight (about 12 GiB for `cargo check`); the model's type and
    /// its heap constructors now cost nothing to compile.
    struct Huge { Input<20000>, Dense<20000> }
}

#[test]
fn a_model_too_large_for_memory_still_compiles() {
    assert_eq!(<Huge as Model>::PARAMS, 400_020_000);
    assert_eq!(<Huge as Model>::LAYERS[0].output_shape, &[20000]);
}
