//! The hand-written training steps that `benches/train.rs` races nn against
//! (`benches/hand/train.rs`, `benches/hand/train_kws.rs`) compute what `train_on_batch`
//! computes: from the same weights, one step and ten give the same weights to 1e-5.

use nn::nalgebra;
use nn::prelude::*;
use nn::train::Compile;
use nn::train::loss::{CategoricalCrossentropy, SparseCategoricalCrossentropy};
use nn::train::optimizer::Adam;

#[path = "../benches/hand/train.rs"]
#[allow(dead_code)]
mod hand;

#[path = "../benches/hand/train_kws.rs"]
#[allow(dead_code)]
mod hand_kws;

// `hand/train_kws.rs` reaches `hand/train.rs` as `crate::hand_train`.
use hand as hand_train;

sequential! {
    struct Digits { Input<64>, Dense<64, relu>, Dense<10, softmax> }
}

sequential! {
    struct Kws {
        Input<49, 10, 1>,
        Conv2D<16, (5, 3), strides = (2, 1), relu>,
        MaxPooling2D<2>,
        Conv2D<32, 3, padding = same, relu>,
        GlobalAveragePooling2D,
        Dense<12, softmax>,
    }
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn hand_written_steps_train_the_weights_nn_trains() {
    let start = hand::glorot(1);
    let data = hand::digits_batches();
    assert_eq!((data.len(), Digits::PARAMS), (44, hand::PARAMS));
    for steps in [1, 10] {
        let batches = || data.iter().cycle().take(steps);
        let mut model = Digits::boxed_zeros();
        model.load_params(&start).unwrap();
        let mut trainer = model.compile(Adam::new(0.001), SparseCategoricalCrossentropy::DEFAULT).unwrap();
        let mut losses = Vec::new();
        for (x, y) in batches() {
            let ids: Vec<f32> = y.iter().map(|&c| c as f32).collect();
            losses.push(trainer.train_on_batch_flat(&[x], &[&ids]).unwrap() as f32);
        }
        drop(trainer);
        let mut ours = vec![0.0; Digits::PARAMS];
        model.save_params(&mut ours).unwrap();
        assert!(max_diff(&ours, &start) > 1e-4);

        let mut onehot = Digits::boxed_zeros();
        onehot.load_params(&start).unwrap();
        let mut trainer = onehot.compile(Adam::new(0.001), CategoricalCrossentropy::DEFAULT).unwrap();
        for (x, y) in batches() {
            let xs: Vec<SVector<f32, 64>> = x.chunks_exact(64).map(SVector::from_column_slice).collect();
            let ys: Vec<SVector<f32, 10>> =
                y.iter().map(|&c| SVector::from_fn(|i, _| f32::from(u8::from(i == c as usize)))).collect();
            trainer.train_on_batch(&xs, &ys).unwrap();
        }
        drop(trainer);
        let mut typed = vec![0.0; Digits::PARAMS];
        onehot.save_params(&mut typed).unwrap();

        let mut na = hand::HandNalgebra::from_flat(&start, hand::Adam::new(0.001));
        let mut ar = hand::HandArrays::from_flat(&start, hand::Adam::new(0.001));
        for ((x, y), loss) in batches().zip(&losses) {
            let l_na = na.step(&hand::HandNalgebra::batch(x), y);
            let l_ar = ar.step(x, y);
            assert!((l_na - loss).abs() < 1e-5 && (l_ar - loss).abs() < 1e-5, "{loss} {l_na} {l_ar}");
        }
        for (name, w) in [("one-hot", typed), ("hand_nalgebra", na.to_flat()), ("hand_arrays", ar.to_flat())]
        {
            let d = max_diff(&ours, &w);
            assert!(d < 1e-5, "{steps} step(s): nn and {name} differ by {d}");
        }
    }
}

#[test]
fn hand_written_kws_steps_train_the_weights_nn_trains() {
    let start = hand_kws::glorot(1);
    let data = hand_kws::batches();
    assert_eq!((data.len(), Kws::PARAMS), (hand_kws::BATCHES, hand_kws::PARAMS));
    for steps in [1, 10] {
        let batches = || data.iter().cycle().take(steps);
        let mut model = Kws::boxed_zeros();
        model.load_params(&start).unwrap();
        let mut trainer = model.compile(Adam::new(0.001), SparseCategoricalCrossentropy::DEFAULT).unwrap();
        let mut losses = Vec::new();
        for (x, y) in batches() {
            let ids: Vec<f32> = y.iter().map(|&c| c as f32).collect();
            losses.push(trainer.train_on_batch_flat(&[x], &[&ids]).unwrap() as f32);
        }
        drop(trainer);
        let mut ours = vec![0.0; Kws::PARAMS];
        model.save_params(&mut ours).unwrap();
        assert!(max_diff(&ours, &start) > 1e-4);

        let mut na = hand_kws::KwsHandNalgebra::from_flat(&start, hand::Adam::new(0.001));
        let mut ar = hand_kws::KwsHandArrays::from_flat(&start, hand::Adam::new(0.001));
        for ((x, y), loss) in batches().zip(&losses) {
            let (l_na, l_ar) = (na.step(x, y), ar.step(x, y));
            assert!((l_na - loss).abs() < 1e-5 && (l_ar - loss).abs() < 1e-5, "{loss} {l_na} {l_ar}");
        }
        for (name, w) in [("hand_nalgebra", na.to_flat()), ("hand_arrays", ar.to_flat())] {
            let d = max_diff(&ours, &w);
            assert!(d < 1e-5, "{steps} step(s): nn and {name} differ by {d}");
        }
    }
}
