//! An MNIST-sized MLP (784→128→64→10, the benchmarks' M2): one sample, then a batch of 64 through
//! the batched kernels, with no allocation in either call.
//!
//! Run with `cargo run --release --example mnist_mlp`.

use nn::prelude::*;

sequential! {
    /// 109,386 weights, 427 KiB of f32: built on the heap, never on the stack.
    pub struct Mnist { Input<784>, Dense<128, relu>, Dense<64, relu>, Dense<10, softmax> }
}

fn main() {
    let model = Mnist::boxed_seeded(0);
    println!("{}", model.summary());
    println!("kernels for this CPU: {:?}", nn::kernels::cpu::level());

    let image = SVector::<f32, 784>::from_fn(|i, _| ((i * 7) % 255) as f32 / 255.0);
    let p = model.predict(&image);
    let best = p.iter().enumerate().fold((0, 0.0f32), |b, (i, v)| if *v > b.1 { (i, *v) } else { b });
    println!("one image: class {} with p = {:.3}", best.0, best.1);

    let batch = vec![image; 64];
    let mut out = vec![SVector::<f32, 10>::zeros(); 64];
    model.predict_batch(&batch, &mut out).expect("as many outputs as inputs");
    println!(
        "batch of 64: first = {:.3}, identical to the single prediction: {}",
        out[0][best.0],
        (out[0] - p).amax() < 1e-5
    );
}
