//! Finite-difference checks of the normalization, embedding, preprocessing and regularization
//! layers' backward passes, in f64, through models the macros write (so the generated sweep runs
//! them): for random weights and inputs, the gradient the sweep computes for `Σ r·y` (a random
//! projection of every output) matches central differences to a relative error of 1e-6. Also:
//! BatchNormalization's moving statistics after a training pass against Keras's update, the
//! dropout layers' draws (the same seed gives the same masks, which the differences rely on).
//!
//! The harness is `tests/gradcheck/`, shared by every `train_*` test.

mod gradcheck;

use gradcheck::{check, check_inputs, gradient_error, inputs};
use nn::init::Rng;
use nn::kernels::cpu;
use nn::prelude::*;
use nn::tensor::Ids;
use nn::train::Trainable;

// BatchNormalization in training mode: batch statistics over the samples (and the steps or
// pixels), and the gradient through them.

sequential! {
    struct DenseBn<f64> { Input<6>, Dense<5>, BatchNormalization, Dense<2> }
}
sequential! {
    struct SequenceBn<f64> { Input<3, 4>, Dense<5, tanh>, BatchNormalization<center = false, momentum = 0.9>, Dense<2> }
}
sequential! {
    struct ImageBn<f64> { Input<2, 2, 3>, Dense<4>, BatchNormalization<scale = false, epsilon = 0.01>, Flatten, Dense<2> }
}
sequential! {
    struct BareBn<f64> { Input<3, 2>, Dense<3>, BatchNormalization<center = false, scale = false>, Dense<2> }
}
sequential! {
    struct InputBn<f64> { Input<4>, BatchNormalization, Dense<2, tanh> }
}

#[test]
fn batch_normalization_in_training_mode_matches_finite_differences() {
    check(DenseBn::seeded(1));
    check(SequenceBn::seeded(2));
    check(ImageBn::seeded(3));
    check(BareBn::seeded(4));
    // Reading the model's input: gamma and beta only.
    check(InputBn::seeded(5));
}

#[test]
fn batch_normalization_with_gamma_and_beta_away_from_their_start_matches_finite_differences() {
    let mut model = DenseBn::seeded(6);
    model.batch_normalization.gamma = [1.5, -0.7, 0.3, 2.0, 0.9];
    model.batch_normalization.beta = [0.1, -0.2, 0.3, 0.0, 0.5];
    model.configure();
    check(model);
}

#[test]
fn moving_statistics_after_a_training_pass_follow_keras_update() {
    let mut model = SequenceBn::seeded(7);
    model.batch_normalization.moving_mean = [0.5, -0.25, 0.0, 1.0, 2.0];
    model.batch_normalization.moving_variance = [1.0, 2.0, 0.5, 4.0, 1.5];
    model.configure();
    let before = model.clone();
    let xs = inputs::<<SequenceBn as Model>::Input>(4, 8);
    let mut b = SequenceBn::buffers(xs.len());
    model.forward_train(cpu::level(), &mut b, &xs, &mut Rng::new(1));

    // The batch statistics of the Dense layer's outputs, over 4 samples × 3 steps, by hand.
    let dense = &before.dense;
    let values: Vec<[f64; 5]> = xs
        .iter()
        .flat_map(|x| (0..3).map(move |s| x.step(s)))
        .map(|step| {
            core::array::from_fn(|o| {
                (0..4).map(|i| step[i] * dense.kernel[(o, i)]).sum::<f64>() + dense.bias[o]
            })
        })
        .map(|z: [f64; 5]| z.map(f64::tanh))
        .collect();
    let bn = &model.batch_normalization;
    assert_eq!(bn.momentum, 0.9, "the DSL's momentum reaches the layer");
    for c in 0..5 {
        let mean = values.iter().map(|v| v[c]).sum::<f64>() / 12.0;
        let variance = values.iter().map(|v| (v[c] - mean).powi(2)).sum::<f64>() / 12.0;
        let old = &before.batch_normalization;
        // Keras: `moving * momentum + batch * (1 - momentum)`, the variance biased.
        let want_mean = old.moving_mean[c] * 0.9 + mean * (1.0 - 0.9);
        let want_variance = old.moving_variance[c] * 0.9 + variance * (1.0 - 0.9);
        assert!(
            (bn.moving_mean[c] - want_mean).abs() < 1e-12,
            "mean {c}: {} vs {want_mean}",
            bn.moving_mean[c]
        );
        assert!(
            (bn.moving_variance[c] - want_variance).abs() < 1e-12,
            "variance {c}: {} vs {want_variance}",
            bn.moving_variance[c]
        );
    }
    // Inference now uses the new statistics: the folded scale and shift were redone.
    let mut refolded = model.clone();
    refolded.configure();
    assert_eq!(model.predict(&xs[0]), refolded.predict(&xs[0]));
    assert_ne!(model.predict(&xs[0]), before.predict(&xs[0]));
}

/// A frozen BatchNormalization (Keras's `trainable = False`) runs in inference mode: the
/// moving statistics, no update, and the gradient of that affine map.
#[test]
fn a_frozen_batch_normalization_runs_and_differentiates_its_inference_map() {
    use nn::layers::BatchNormalization;
    use nn::nalgebra::SVector;
    use nn::train::{Ctx, Train};
    type Bn = BatchNormalization<SVector<f64, 3>, 3>;
    let mut bn = Bn::ZEROS;
    bn.gamma = [1.5, -0.5, 2.0];
    bn.beta = [0.25, 0.0, -1.0];
    bn.moving_mean = [0.5, -1.0, 0.25];
    bn.moving_variance = [2.0, 0.5, 1.5];
    bn.prepare();
    let xs: Vec<SVector<f64, 3>> = inputs(4, 11);
    let r: Vec<SVector<f64, 3>> = inputs(4, 12);
    let run = |bn: &mut Bn, xs: &[SVector<f64, 3>]| {
        let (mut ys, mut kept) = (vec![SVector::zeros(); 4], vec![<Bn as Train>::KEPT; 4]);
        bn.forward_train(
            cpu::level(),
            xs,
            &mut ys,
            &mut kept,
            &mut Ctx { trainable: false, rng: &mut Rng::new(7), penalty: &mut 0.0 },
        );
        (ys, kept)
    };
    let frozen = bn.clone();
    let (ys, kept) = run(&mut bn, &xs);
    assert_eq!(bn, frozen, "no update of the moving statistics");
    for (x, y) in xs.iter().zip(&ys) {
        assert_eq!(bn.forward(x), *y);
    }
    let mut dys = r.clone();
    let mut dxs = vec![SVector::zeros(); 4];
    let mut grads = Bn::ZEROS;
    grads.gamma = [0.0; 3];
    bn.backward(cpu::level(), &xs, &ys, &kept, &mut dys, Some(&mut dxs), Some(&mut grads));
    let projection = |bn: &mut Bn, xs: &[SVector<f64, 3>]| {
        run(bn, xs).0.iter().zip(&r).map(|(y, r)| y.dot(r)).sum::<f64>()
    };
    let eps = 1e-6;
    let (mut diff, mut norm) = (0.0, 0.0);
    let mut compare = |numeric: f64, analytic: f64| {
        diff += (numeric - analytic) * (numeric - analytic);
        norm += numeric * numeric + analytic * analytic;
    };
    for s in 0..4 {
        for i in 0..3 {
            let (mut up, mut down) = (xs.clone(), xs.clone());
            up[s][i] += eps;
            down[s][i] -= eps;
            compare((projection(&mut bn, &up) - projection(&mut bn, &down)) / (2.0 * eps), dxs[s][i]);
        }
    }
    for c in 0..3 {
        for (field, analytic) in [(0, grads.gamma[c]), (1, grads.beta[c])] {
            let (mut up, mut down) = (bn.clone(), bn.clone());
            let (u, d) = if field == 0 {
                (&mut up.gamma[c], &mut down.gamma[c])
            } else {
                (&mut up.beta[c], &mut down.beta[c])
            };
            *u += eps;
            *d -= eps;
            up.prepare();
            down.prepare();
            compare((projection(&mut up, &xs) - projection(&mut down, &xs)) / (2.0 * eps), analytic);
        }
    }
    assert!(norm > 0.0);
    assert!((diff / norm).sqrt() <= 1e-6, "relative error {:e}", (diff / norm).sqrt());
    assert_eq!((grads.moving_mean, grads.moving_variance), ([0.0; 3], [1.0; 3]), "untrained: untouched");
}

// LayerNormalization and GroupNormalization.

sequential! {
    struct DenseLn<f64> { Input<4>, Dense<5, tanh>, LayerNormalization, Dense<3> }
}
sequential! {
    struct SequenceLn<f64> { Input<3, 4>, Dense<5>, LayerNormalization<epsilon = 0.01>, Dense<2> }
}
sequential! {
    struct BareLn<f64> { Input<3, 4>, Dense<5>, LayerNormalization<center = false, scale = false>, Dense<2> }
}
sequential! {
    struct ScaleOnlyLn<f64> { Input<3, 4>, Dense<5>, LayerNormalization<center = false>, Dense<2> }
}
sequential! {
    struct RmsLn<f64> { Input<2, 2, 3>, Dense<4>, LayerNormalization<rms_scaling = true>, Flatten, Dense<2> }
}
sequential! {
    struct InputLn<f64> { Input<3, 4>, LayerNormalization, Dense<2> }
}

#[test]
fn layer_normalization_matches_finite_differences() {
    check(DenseLn::seeded(10));
    check(SequenceLn::seeded(11));
    check(BareLn::seeded(12));
    check(ScaleOnlyLn::seeded(13));
    check(InputLn::seeded(15));
    let mut model = DenseLn::seeded(16);
    model.layer_normalization.gamma = [1.5, -0.7, 0.3, 2.0, 0.9];
    model.layer_normalization.beta = [0.1, -0.2, 0.3, 0.0, 0.5];
    check(model);
}

#[test]
fn layer_normalization_with_rms_scaling_matches_finite_differences() {
    let mut model = RmsLn::seeded(14);
    model.layer_normalization.gamma = [1.5, -0.7, 0.3, 2.0];
    check(model);
}

sequential! {
    struct SequenceGn<f64> { Input<3, 4>, Dense<6, tanh>, GroupNormalization<2>, Flatten, Dense<2> }
}
sequential! {
    struct ImageGn<f64> { Input<2, 2, 3>, Dense<4>, GroupNormalization<-1, epsilon = 0.01>, Flatten, Dense<2> }
}
sequential! {
    struct OneGroupGn<f64> { Input<3, 4>, Dense<6>, GroupNormalization<1, center = false>, Dense<2> }
}
sequential! {
    struct BareGn<f64> { Input<3, 4>, Dense<6>, GroupNormalization<3, center = false, scale = false>, Flatten, Dense<2> }
}
sequential! {
    struct VectorGn<f64> { Input<4>, Dense<6, tanh>, GroupNormalization<2, scale = false>, Dense<2> }
}

#[test]
fn group_normalization_matches_finite_differences() {
    let mut model = SequenceGn::seeded(20);
    model.group_normalization.gamma = [1.5, -0.7, 0.3, 2.0, 0.9, 1.1];
    model.group_normalization.beta = [0.1, -0.2, 0.3, 0.0, 0.5, -0.4];
    check(model);
    check(ImageGn::seeded(21));
    check(OneGroupGn::seeded(22));
    check(BareGn::seeded(23));
    check(VectorGn::seeded(24));
}

// UnitNormalization: no weights, so the check is of its input gradient, through the Dense
// layer before it.

sequential! {
    struct DenseUn<f64> { Input<4>, Dense<5, tanh>, UnitNormalization, Dense<3> }
}
sequential! {
    struct ImageUn<f64> { Input<2, 2, 3>, Dense<4>, UnitNormalization<axis = 3>, Flatten, Dense<2> }
}

#[test]
fn unit_normalization_matches_finite_differences() {
    check(DenseUn::seeded(25));
    check(ImageUn::seeded(26));
}

// RMSNormalization: `scale`'s gradient and the input's.

sequential! {
    struct DenseRms<f64> { Input<4>, Dense<5, tanh>, RMSNormalization, Dense<3> }
}
sequential! {
    struct ImageRms<f64> { Input<2, 2, 3>, Dense<4>, RMSNormalization<epsilon = 0.01>, Flatten, Dense<2> }
}
sequential! {
    struct InputRms<f64> { Input<3, 4>, RMSNormalization, Dense<2> }
}

#[test]
fn rms_normalization_matches_finite_differences() {
    let mut model = DenseRms::seeded(27);
    model.rms_normalization.scale = [1.5, -0.7, 0.3, 2.0, 0.9];
    check(model);
    check(ImageRms::seeded(28));
    check(InputRms::seeded(29));
}

// Embedding: the table's gradient gathers every occurrence of an id.

sequential! {
    struct Embedded<f64> { Input<6>, Embedding<20, 4>, Flatten, Dense<1, sigmoid> }
}
sequential! {
    struct EmbeddedSequence<f64> { Input<5>, Embedding<7, 3>, Dense<4, tanh>, LayerNormalization, Flatten, Dense<2> }
}

#[test]
fn embedding_matches_finite_differences_with_repeated_ids() {
    // Ids repeat within a sample and across the batch; some are never read.
    let xs: Vec<Ids<6, 20>> = [[3, 7, 3, 19, 0, 7], [7, 7, 7, 1, 2, 3], [19, 18, 0, 0, 5, 3]]
        .into_iter()
        .map(|ids| Ids::new(ids).unwrap())
        .collect();
    check_inputs(Embedded::seeded(30), &xs, None);
    let xs: Vec<Ids<5, 7>> = [[0, 6, 6, 2, 0], [1, 1, 1, 1, 1], [5, 4, 3, 2, 6]]
        .into_iter()
        .map(|ids| Ids::new(ids).unwrap())
        .collect();
    check_inputs(EmbeddedSequence::seeded(31), &xs, None);
}

// CategoryEncoding: no weights and no gradient for its ids; the layers after it train.
sequential! {
    struct Counted<f64> { Input<6>, CategoryEncoding<5, output_mode = count>, Dense<3, tanh>, Dense<2> }
}
sequential! {
    struct OneHot<f64> { Input<4>, CategoryEncoding<6, output_mode = one_hot>, Dense<3, tanh>, Flatten, Dense<1> }
}

#[test]
fn category_encoding_feeds_trained_layers_matching_finite_differences() {
    let xs: Vec<Ids<6, 5>> = [[0, 4, 4, 2, 0, 4], [1, 1, 1, 1, 1, 1], [3, 2, 1, 0, 4, 3]]
        .into_iter()
        .map(|ids| Ids::new(ids).unwrap())
        .collect();
    check_inputs(Counted::seeded(33), &xs, None);
    let xs: Vec<Ids<4, 6>> =
        [[5, 0, 5, 2], [1, 1, 3, 4], [0, 0, 0, 0]].into_iter().map(|ids| Ids::new(ids).unwrap()).collect();
    check_inputs(OneHot::seeded(34), &xs, None);
}

#[test]
fn embedding_adds_each_occurrence_into_its_row() {
    let model = Embedded::seeded(32);
    let xs = [Ids::new([2, 5, 2, 2, 9, 5]).unwrap()];
    let mut b = Embedded::buffers(1);
    let mut trained = model.clone();
    trained.forward_train(cpu::level(), &mut b, &xs, &mut Rng::new(1));
    Embedded::output_grad(&mut b, 0, 1)[0] = 1.0;
    let mut grads = Embedded::zeros();
    trained.backward(cpu::level(), &mut b, &xs, None, &mut grads, nn::train::Write::Set);
    // Through the sigmoid: dz = y (1 - y); step s's row gets dz · kernel[4s..4s + 4].
    let y = Embedded::output(&b, 0, 1)[0];
    let dz = y * (1.0 - y);
    for id in 0..20 {
        for d in 0..4 {
            let want: f64 = xs[0]
                .0
                .iter()
                .enumerate()
                .filter(|(_, i)| **i == id)
                .map(|(s, _)| dz * model.dense.kernel[(0, 4 * s + d)])
                .sum();
            assert!((grads.embedding.embeddings[id as usize][d] - want).abs() < 1e-15, "id {id}, {d}");
        }
    }
}

// Rescaling and Normalization: dx only.

sequential! {
    struct Rescaled<f64> { Input<4>, Dense<4, tanh>, Rescaling<0.5, offset = 0.1>, Dense<2> }
}
sequential! {
    struct Normalized<f64> {
        Input<3, 3>, Dense<3, tanh>, Normalization<mean = (0.5, -1.0, 2.0), variance = (4.0, 0.25, 1.5)>, Dense<2>
    }
}
sequential! {
    struct Inverted<f64> { Input<4>, Dense<3, tanh>, Normalization<mean = 1.0, variance = 4.0, invert = true>, Dense<2> }
}
sequential! {
    struct Adapted<f64> { Input<4>, Dense<3, tanh>, Normalization, Dense<2> }
}

#[test]
fn preprocessing_layers_pass_their_gradient_on() {
    check(Rescaled::seeded(40));
    check(Normalized::seeded(41));
    check(Inverted::seeded(42));
    // Adapted: its mean and variance are weights, not trained (their gradients stay zero).
    let mut model = Adapted::seeded(43);
    model.normalization.mean = [0.5, -0.5, 0.1];
    model.normalization.variance = [2.0, 0.5, 3.0];
    check(model);
}

// The regularization layers, in training mode.

sequential! {
    struct Dropped<f64> { Input<4>, Dense<8, tanh>, Dropout<0.4>, Dense<3> }
}
sequential! {
    struct SharedDrop<f64> { Input<3, 4>, Dense<6, tanh>, Dropout<0.5, noise_shape = (None, 1, 6)>, Flatten, Dense<2> }
}
sequential! {
    struct SpatialDrop1<f64> { Input<3, 4>, Dense<6, tanh>, SpatialDropout1D<0.3>, Flatten, Dense<2> }
}
sequential! {
    struct SpatialDrop2<f64> { Input<2, 2, 3>, Dense<5, tanh>, SpatialDropout2D<0.4>, Flatten, Dense<2> }
}
sequential! {
    struct Noisy<f64> { Input<4>, Dense<6, tanh>, GaussianNoise<0.3>, Dense<3, tanh>, GaussianDropout<0.2>, Dense<2> }
}
sequential! {
    struct Alpha<f64> { Input<4>, Dense<6, selu>, AlphaDropout<0.3>, Dense<3> }
}
sequential! {
    struct AlphaShared<f64> { Input<3, 4>, Dense<6, selu>, AlphaDropout<0.3, noise_shape = (None, 3, 1)>, Flatten, Dense<3> }
}
sequential! {
    struct Everything<f64> {
        Input<3, 4>, Dense<6, tanh>, Dropout<0.2>, SpatialDropout1D<0.2>, GaussianNoise<0.1>, GaussianDropout<0.2>,
        AlphaDropout<0.1>, Flatten, Dense<2>
    }
}

#[test]
fn dropout_layers_in_training_mode_match_finite_differences() {
    check(Dropped::seeded(50));
    check(SharedDrop::seeded(51));
    check(SpatialDrop1::seeded(52));
    check(SpatialDrop2::seeded(53));
    check(Noisy::seeded(54));
    check(Alpha::seeded(55));
    check(AlphaShared::seeded(56));
    check(Everything::seeded(57));
}

functional! {
    struct Regularized<f64> {
        x = Input<4>;
        h = Dense<5, tanh>(x);
        a = ActivityRegularization<l1 = 0.05, l2 = 0.2>(h);
        y = Dense<2>(a);
        -> (y, a);
    }
}

#[test]
fn activity_regularization_adds_its_penalty_gradient() {
    // Keras's penalty on `a`, over the batch and divided by its size.
    fn penalty(outputs: &[&[f64]], n: usize) -> f64 {
        outputs[1].iter().map(|a| 0.05 * a.abs() + 0.2 * a * a).sum::<f64>() / n as f64
    }
    let xs = inputs(5, 3);
    check_inputs(Regularized::seeded(60), &xs, Some(penalty));
    // Without the penalty in the projection, the sweep's gradient no longer matches: it does
    // add the penalty's.
    assert!(gradient_error(Regularized::seeded(60), &xs, None) > 1e-3);
}

/// Runs `model`'s training pass on `xs` with the generator seeded `seed`, returning output 0.
fn train_output<M: Trainable<Scalar = f64>>(model: &mut M, xs: &[M::Input], seed: u64) -> Vec<f64> {
    let mut b = M::buffers(xs.len());
    model.forward_train(cpu::level(), &mut b, xs, &mut Rng::new(seed));
    M::output(&b, 0, xs.len()).to_vec()
}

sequential! {
    struct DropOnly<f64> { Input<2000>, Dropout<0.3> }
}
sequential! {
    struct SpatialOnly<f64> { Input<3, 400>, SpatialDropout1D<0.25> }
}
sequential! {
    struct BatchShared<f64> { Input<2, 50>, Dropout<0.5, noise_shape = (1, 2, 1)> }
}
sequential! {
    struct SpatialVolume<f64> { Input<2, 3, 2, 100>, SpatialDropout3D<0.25> }
}

#[test]
fn the_same_seed_draws_the_same_masks_and_others_differ() {
    let xs = inputs::<<Everything as Model>::Input>(3, 1);
    let mut model = Everything::seeded(1);
    let a = train_output(&mut model, &xs, 7);
    assert_eq!(a, train_output(&mut model, &xs, 7));
    assert_ne!(a, train_output(&mut model, &xs, 8));
    // Inference does not drop: the layers are the identity there.
    let mut plain = Everything::seeded(1);
    plain.dropout.rate = 0.0;
    plain.spatial_dropout1d.rate = 0.0;
    plain.gaussian_noise.stddev = 0.0;
    plain.gaussian_dropout.rate = 0.0;
    plain.alpha_dropout.rate = 0.0;
    let want = plain.predict(&xs[0]);
    assert_eq!(model.predict(&xs[0]), want);
    // And with every rate 0, training is inference.
    let trained = train_output(&mut plain, &xs, 7);
    for (t, w) in trained.iter().zip(want.iter()) {
        assert!((t - w).abs() < 1e-12);
    }
}

#[test]
fn dropout_drops_its_rate_and_scales_what_it_keeps() {
    let xs = vec![nn::nalgebra::SVector::<f64, 2000>::from_element(1.5)];
    let ys = train_output(&mut DropOnly::seeded(1), &xs, 3);
    let kept = ys.iter().filter(|y| **y != 0.0).count();
    assert!(ys.iter().all(|y| *y == 0.0 || *y == 1.5 / (1.0 - 0.3)), "kept values are x / (1 - rate)");
    let fraction = kept as f64 / 2000.0;
    assert!((fraction - 0.7).abs() < 0.04, "kept {fraction}");
}

#[test]
fn spatial_dropout_drops_whole_channels_and_noise_shape_shares_draws() {
    let xs = inputs::<<SpatialOnly as Model>::Input>(2, 4);
    let ys = train_output(&mut SpatialOnly::seeded(1), &xs, 5);
    let mut dropped = 0;
    for (s, x) in xs.iter().enumerate() {
        for c in 0..400 {
            let at = |step: usize| ys[s * 1200 + step * 400 + c];
            let kept = at(0) != 0.0;
            dropped += usize::from(!kept);
            for step in 0..3 {
                let want = if kept { x.step(step)[c] / 0.75 } else { 0.0 };
                assert_eq!(at(step), want, "sample {s}, channel {c}, step {step}");
            }
        }
    }
    assert!((dropped as f64 / 800.0 - 0.25).abs() < 0.05, "dropped {dropped} of 800 channels");
    // Over a volume, one draw per sample and channel, shared by its 2 × 3 × 2 pixels.
    let xs = inputs::<<SpatialVolume as Model>::Input>(2, 6);
    let ys = train_output(&mut SpatialVolume::seeded(1), &xs, 5);
    for (s, x) in xs.iter().enumerate() {
        for c in 0..100 {
            let at = |pixel: usize| ys[s * 1200 + pixel * 100 + c];
            let kept = at(0) != 0.0;
            for pixel in 0..12 {
                let want = if kept { x.as_slice()[pixel * 100 + c] / 0.75 } else { 0.0 };
                assert_eq!(at(pixel), want, "sample {s}, channel {c}, pixel {pixel}");
            }
        }
    }
    // A noise shape of (1, 2, 1): one draw per step, shared by every sample and channel.
    let xs = vec![nn::tensor::Tensor2::<f64, 2, 50>::from_rows([[1.0; 50]; 2]); 3];
    let ys = train_output(&mut BatchShared::seeded(1), &xs, 9);
    for step in 0..2 {
        let first = ys[step * 50];
        for s in 0..3 {
            assert!(ys[s * 100 + step * 50..s * 100 + step * 50 + 50].iter().all(|y| *y == first));
        }
    }
}

nn::keras_model! { struct TrainingOptions = "tests/fixtures/keras/norm/training_options.keras"; }

#[test]
fn keras_files_carry_the_training_options() {
    // `noise_shape=(None, 1, 4)` and `(None, 5, 1)` (lists holding null in the config), and
    // `momentum=0.8`.
    let model = TrainingOptions::KERAS;
    assert_eq!((model.dropout.rate, model.dropout.shared), (0.5, [false, true, false, false, false, false]));
    assert_eq!(
        (model.alpha_dropout.rate, model.alpha_dropout.shared),
        (0.2, [false, false, true, false, false, false])
    );
    assert_eq!(model.batch_normalization.momentum, 0.8);
    assert_eq!(DenseBn::ZEROS.batch_normalization.momentum, 0.99, "Keras's default");
}

sequential! {
    struct FrozenBn<f64> { Input<6>, Dense<5>, BatchNormalization<trainable = false>, Dense<2, tanh> }
}

#[test]
fn a_frozen_batch_normalization_in_a_model_passes_gradients_through_its_inference_map() {
    let mut model = FrozenBn::seeded(71);
    model.batch_normalization.moving_mean = core::array::from_fn(|i| 0.1 * i as f64);
    model.batch_normalization.moving_variance = core::array::from_fn(|i| 0.5 + 0.25 * i as f64);
    model.batch_normalization.prepare();
    let before = model.batch_normalization.clone();
    check(model.clone());
    // A training pass leaves a frozen layer's statistics alone.
    let xs = inputs::<SVector<f64, 6>>(4, 5);
    let mut b = <FrozenBn as Trainable>::buffers(4);
    model.forward_train(cpu::level(), &mut b, &xs, &mut Rng::new(1));
    assert_eq!(model.batch_normalization, before);
}

sequential! {
    struct TrailingAxesNorms<f64> {
        Input<3, 4>, Dense<4, tanh>, LayerNormalization<axis = (-2, -1)>, Dense<3, tanh>,
        UnitNormalization<axis = (1, 2)>, Dense<5>, RMSNormalization<axis = (-2, -1)>, Dense<2, tanh>,
        LayerNormalization<axis = (1, 2), rms_scaling = true>, Dense<1>
    }
}

/// LayerNormalization, UnitNormalization and RMSNormalization over their last two axes
/// together: one row of all of them per sample.
#[test]
fn normalizations_over_trailing_axes_match_finite_differences() {
    check(TrailingAxesNorms::seeded(31));
}

sequential! {
    struct ChannelAxisBn<f64> {
        Input<3, 4, 5>, Dense<5, tanh>, BatchNormalization<axis = 1>, Dense<4, tanh>,
        BatchNormalization<axis = -2, center = false>, Flatten, Dense<2>
    }
}

/// BatchNormalization over the first axis of an image (channels first) and over the middle
/// axis: batch statistics per channel over every other axis, in training mode.
#[test]
fn batch_normalization_over_another_axis_matches_finite_differences() {
    check(ChannelAxisBn::seeded(32));
}

sequential! {
    struct NormalizationAxes<f64> {
        Input<3, 4>, Dense<4, tanh>, Normalization<axis = None, mean = 0.5, variance = 2.0>, Dense<4, tanh>,
        Normalization<axis = (-2, -1), mean = 0.1, variance = 1.5, invert = true>, Dense<2>
    }
}

/// Normalization with one mean for every value (`axis = None`) and with the last two axes kept.
#[test]
fn normalization_over_other_axes_matches_finite_differences() {
    check(NormalizationAxes::seeded(33));
}

sequential! {
    struct ChannelsFirstGroups<f64> {
        Input<4, 3, 5>, Dense<5, tanh>, GroupNormalization<groups = 2, axis = 1>, Dense<3, tanh>,
        GroupNormalization<groups = 3, axis = -2, center = false>, Flatten, Dense<2>
    }
}

/// GroupNormalization with its channels on the first axis and on the middle one.
#[test]
fn group_normalization_over_another_axis_matches_finite_differences() {
    check(ChannelsFirstGroups::seeded(34));
}

sequential! {
    /// LayerNormalization over a sequence's steps (per channel): its rows are the channels, of 5
    /// values 3 apart.
    struct StepsLn<f64> { Input<5, 3>, Dense<3, tanh>, LayerNormalization<axis = 1>, Flatten, Dense<2> }
}
sequential! {
    /// With `rms_scaling`, over a volume's two middle axes.
    struct MiddleRmsLn<f64> {
        Input<2, 3, 4, 2>, Dense<2, tanh>, LayerNormalization<axis = (2, 3), rms_scaling = true>, Flatten, Dense<2>
    }
}

#[test]
fn layer_normalization_over_axes_before_the_last_matches_finite_differences() {
    let mut steps = StepsLn::seeded(16);
    steps.layer_normalization.gamma = [0.5, -1.5, 2.0, 0.75, -0.25];
    steps.layer_normalization.beta = [0.25, -0.5, 1.0, 0.0, 0.5];
    check(steps);
    check(MiddleRmsLn::seeded(17));
}

sequential! {
    /// UnitNormalization and RMSNormalization over axes before the last.
    struct InnerUnitRms<f64> {
        Input<3, 4, 2>, Dense<2, tanh>, UnitNormalization<axis = 1>, RMSNormalization<axis = (1, 2)>, Flatten, Dense<2>
    }
}

#[test]
fn unit_and_rms_normalization_over_axes_before_the_last_match_finite_differences() {
    let mut model = InnerUnitRms::seeded(18);
    model.rms_normalization.scale = core::array::from_fn(|i| 0.5 + 0.1 * i as f64);
    check(model);
}

sequential! {
    /// The row normalizations over axes apart (Keras's (1, 3) of three).
    struct ApartAxes<f64> {
        Input<3, 2, 4>, Dense<4, tanh>, LayerNormalization<axis = (1, 3)>, UnitNormalization<axis = (1, 3)>,
        RMSNormalization<axis = (1, 3)>, Flatten, Dense<2>
    }
}

#[test]
fn row_normalizations_over_axes_apart_match_finite_differences() {
    let mut model = ApartAxes::seeded(19);
    model.layer_normalization.gamma = core::array::from_fn(|i| 0.5 + 0.125 * i as f64);
    model.layer_normalization.beta = core::array::from_fn(|i| 0.25 - 0.0625 * i as f64);
    model.rms_normalization.scale = core::array::from_fn(|i| 1.5 - 0.1 * i as f64);
    check(model);
}

sequential! {
    /// Normalization keeping statistics over axes apart (1 and 3 of three): each value divided
    /// by its channel's deviation in the backward pass.
    struct NormalizationApart<f64> { Input<3, 2, 4>, Dense<4, tanh>, Normalization<axis = (1, 3)>, Flatten, Dense<2> }
}

#[test]
fn normalization_over_axes_apart_matches_finite_differences() {
    let mut model = NormalizationApart::seeded(20);
    model.normalization.mean = core::array::from_fn(|i| 0.1 * i as f64 - 0.5);
    model.normalization.variance = core::array::from_fn(|i| 0.5 + 0.25 * i as f64);
    check(model);
}
