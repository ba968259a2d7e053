//! Finite-difference checks, in f64, of the backward passes of the pooling, reshaping and
//! activation layers (PReLU, Softmax over any axis): each sits between Dense layers, whose
//! weight gradients are exact only if the layer passes the right gradient back, with the
//! harness of `tests/train_gradients.rs`. Inputs and weights are random, so no max-pooling
//! window holds a tie and no ReLU or PReLU input sits at its kink.

mod gradcheck;

use gradcheck::check;
use nn::init::Rng;
use nn::prelude::*;

/// Every weight uniform in `[-1, 1)`: PReLU's `alpha` starts at zero, which would hide its
/// part in the input's gradient.
fn randomized<M: Model<Scalar = f64>>(mut model: M, seed: u64) -> M {
    let mut rng = Rng::new(seed);
    let params: Vec<f64> = (0..M::PARAMS).map(|_| rng.next_f64() * 2.0 - 1.0).collect();
    model.load_params(&params).unwrap();
    model
}

/// A test per model: `name => Struct` checks `Struct::seeded(seed)`.
macro_rules! checks {
    ($($name:ident => $model:ident($seed:literal)),* $(,)?) => {$(
        #[test]
        fn $name() {
            check($model::seeded($seed));
        }
    )*};
}

// Pooling: every pool between a Dense layer (whose gradient reads the pool's) and a Dense
// layer after it.
sequential! { struct MaxPool1<f64> { Input<7, 3>, Dense<4, tanh>, MaxPooling1D<2>, Flatten, Dense<2> } }
sequential! {
    struct MaxPool1Same<f64> { Input<7, 3>, Dense<3>, MaxPooling1D<3, strides = 2, padding = same>, Flatten, Dense<2> }
}
sequential! {
    struct MaxPool1Overlapping<f64> { Input<6, 2>, Dense<3>, MaxPooling1D<3, strides = 1, padding = same>, Flatten, Dense<2> }
}
sequential! { struct MaxPool2<f64> { Input<5, 6, 2>, Dense<3>, MaxPooling2D<2>, Flatten, Dense<2> } }
sequential! {
    struct MaxPool2Same<f64> {
        Input<7, 6, 2>, Dense<3>, MaxPooling2D<(3, 2), strides = (2, 1), padding = same>, Flatten, Dense<2>
    }
}
sequential! {
    struct MaxPool2Overlapping<f64> { Input<5, 5, 1>, Dense<2>, MaxPooling2D<3, strides = 1>, Flatten, Dense<2> }
}
sequential! { struct AvgPool1<f64> { Input<10, 2>, Dense<3>, AveragePooling1D<4, strides = 3>, Flatten, Dense<2> } }
sequential! {
    struct AvgPool1Same<f64> { Input<11, 2>, Dense<3>, AveragePooling1D<3, strides = 2, padding = same>, Flatten, Dense<2> }
}
sequential! {
    struct AvgPool2<f64> { Input<8, 6, 2>, Dense<3>, AveragePooling2D<2, strides = (2, 1)>, Flatten, Dense<2> }
}
sequential! {
    struct AvgPool2Same<f64> {
        Input<7, 5, 2>, Dense<3>, AveragePooling2D<3, strides = 2, padding = same>, Flatten, Dense<2>
    }
}
sequential! { struct GlobalMax1<f64> { Input<6, 3>, Dense<4>, GlobalMaxPooling1D, Dense<2> } }
sequential! {
    struct GlobalAvg1<f64> { Input<6, 3>, Dense<4>, GlobalAveragePooling1D<keepdims = true>, Flatten, Dense<2> }
}
sequential! {
    struct GlobalMax2<f64> { Input<5, 4, 3>, Dense<4>, GlobalMaxPooling2D<keepdims = true>, Dense<2>, Flatten, Dense<2> }
}
sequential! { struct GlobalAvg2<f64> { Input<5, 4, 3>, Dense<4>, GlobalAveragePooling2D, Dense<2> } }
// Pools reading the model's input: they pass no gradient back (`dxs` is `None`).
sequential! {
    struct PoolsOnTheInput<f64> { Input<6, 4, 2>, MaxPooling2D<2>, Dense<3>, AveragePooling2D<(1, 2)>, Flatten, Dense<2> }
}
functional! {
    struct GlobalPoolsOnTheInput<f64> {
        x = Input<5, 3>;
        a = GlobalMaxPooling1D(x);
        b = GlobalAveragePooling1D(x);
        c = Concatenate(a, b);
        y = Dense<2>(c);
    }
}
// Keras's `cnn_bn_pool` fixture without its BatchNormalization, Dense layers on the pixels in
// place of its convolutions (a Cropping2D making the second's valid 3×3 shape).
sequential! {
    struct CnnPoolShape<f64> {
        Input<8, 8, 1>, Dense<4>, ReLU, MaxPooling2D<2>, Dense<6>, Cropping2D<1>, GlobalAveragePooling2D,
        Dense<3, softmax>
    }
}

checks! {
    max_pooling1d => MaxPool1(1),
    max_pooling1d_same_strided => MaxPool1Same(2),
    max_pooling1d_overlapping_windows => MaxPool1Overlapping(3),
    max_pooling2d => MaxPool2(4),
    max_pooling2d_same_strided => MaxPool2Same(5),
    max_pooling2d_overlapping_windows => MaxPool2Overlapping(6),
    average_pooling1d => AvgPool1(7),
    average_pooling1d_same_counts_only_the_input => AvgPool1Same(8),
    average_pooling2d => AvgPool2(9),
    average_pooling2d_same_counts_only_the_input => AvgPool2Same(10),
    global_max_pooling1d => GlobalMax1(11),
    global_average_pooling1d_keepdims => GlobalAvg1(12),
    global_max_pooling2d_keepdims => GlobalMax2(13),
    global_average_pooling2d => GlobalAvg2(14),
    pools_on_the_model_input => PoolsOnTheInput(15),
    global_pools_on_the_model_input => GlobalPoolsOnTheInput(16),
    the_cnn_bn_pool_shape_without_normalization => CnnPoolShape(17),
}

// Reshaping.
sequential! { struct PermuteSequence<f64> { Input<5, 3>, Dense<4>, Permute<(2, 1)>, Dense<2>, Flatten, Dense<2> } }
sequential! {
    struct PermuteImage<f64> { Input<3, 4, 2>, Dense<3>, Permute<(2, 3, 1)>, Dense<2>, Permute<(3, 1, 2)>, Flatten, Dense<2> }
}
sequential! { struct Repeat<f64> { Input<4>, Dense<3, tanh>, RepeatVector<3>, Dense<2>, Flatten, Dense<2> } }
sequential! {
    struct Padding1<f64> { Input<5, 2>, Dense<3>, ZeroPadding1D<(1, 2)>, Dense<2>, ZeroPadding1D, Flatten, Dense<2> }
}
sequential! {
    struct Padding2<f64> {
        Input<4, 3, 2>, Dense<3>, ZeroPadding2D<((1, 0), (2, 1))>, Dense<2>, ZeroPadding2D, Flatten, Dense<2>
    }
}
sequential! { struct Crop1<f64> { Input<7, 2>, Dense<3>, Cropping1D<(2, 1)>, Flatten, Dense<2> } }
sequential! { struct Crop2<f64> { Input<6, 5, 2>, Dense<3>, Cropping2D<((1, 2), (0, 1))>, Flatten, Dense<2> } }
sequential! { struct Up1<f64> { Input<4, 3>, Dense<2>, UpSampling1D<3>, Flatten, Dense<2> } }
sequential! { struct Up2<f64> { Input<3, 2, 2>, Dense<3>, UpSampling2D<(2, 3)>, Flatten, Dense<2> } }

checks! {
    permute_sequence => PermuteSequence(21),
    permute_image => PermuteImage(22),
    repeat_vector_sums_its_copies => Repeat(23),
    zero_padding1d => Padding1(24),
    zero_padding2d => Padding2(25),
    cropping1d => Crop1(26),
    cropping2d => Crop2(27),
    up_sampling1d_sums_its_repeats => Up1(28),
    up_sampling2d_sums_its_repeats => Up2(29),
}

// Activation layers.
sequential! { struct PreluVector<f64> { Input<6>, Dense<6>, PReLU, Dense<2> } }
sequential! { struct PreluSequence<f64> { Input<5, 3>, Dense<4>, PReLU<shared_axes = 1>, Flatten, Dense<2> } }
sequential! {
    struct PreluImage<f64> {
        Input<4, 5, 3>, Dense<3>, PReLU<shared_axes = (1, 2)>, Dense<2>, PReLU, Dense<2>, PReLU<shared_axes = 3>,
        Flatten, Dense<2>
    }
}
sequential! {
    struct SoftmaxSequence<f64> { Input<5, 4>, Dense<4>, Softmax<1>, Dense<3>, Softmax, Flatten, Dense<2> }
}
sequential! {
    struct SoftmaxImage<f64> {
        Input<3, 4, 2>, Dense<3>, Softmax<1>, Dense<3>, Softmax<axis = 2>, Dense<2>, Softmax<-1>, Flatten, Dense<2>
    }
}

#[test]
fn prelu_vector() {
    check(randomized(PreluVector::seeded(31), 131));
}

#[test]
fn prelu_shared_over_the_steps() {
    check(randomized(PreluSequence::seeded(32), 132));
}

#[test]
fn prelu_on_images_shared_and_not() {
    check(randomized(PreluImage::seeded(33), 133));
}

/// Keras's initial `alpha` of zero: the gradient of `alpha` is still `x · dy` on the negative
/// inputs. (One PReLU: after a zero-alpha PReLU, a Dense layer with Keras's zero bias would
/// feed the next one exact zeros, its kink.)
#[test]
fn prelu_from_keras_zero_alpha() {
    check(PreluSequence::seeded(34));
}

checks! {
    softmax_over_each_axis_of_a_sequence => SoftmaxSequence(35),
    softmax_over_each_axis_of_an_image => SoftmaxImage(36),
}

// Volumes: the 3-D pools, padding, cropping and upsampling, and a permutation of rank 5.
sequential! {
    struct MaxPool3Same<f64> {
        Input<5, 4, 5, 2>, Dense<3>, MaxPooling3D<(3, 2, 2), strides = (2, 1, 2), padding = same>, Flatten, Dense<2>
    }
}
sequential! {
    struct AvgPool3Same<f64> {
        Input<5, 5, 4, 2>, Dense<3>, AveragePooling3D<3, strides = 2, padding = same>, Flatten, Dense<2>
    }
}
sequential! {
    struct GlobalPools3<f64> {
        Input<3, 4, 2, 3>, Dense<4>, GlobalMaxPooling3D<keepdims = true>, Dense<3>, GlobalAveragePooling3D, Dense<2>
    }
}
sequential! {
    struct EdgesAndRepeats3<f64> {
        Input<3, 2, 4, 2>, Dense<3>, ZeroPadding3D<((1, 0), (0, 2), (1, 1))>, Dense<2, tanh>,
        Cropping3D<((0, 1), (1, 0), (0, 2))>, UpSampling3D<(2, 1, 3)>, Flatten, Dense<2>
    }
}
sequential! {
    struct Permute5<f64> { Input<2, 2, 3, 2, 3>, Dense<2, tanh>, Permute<(5, 2, 4, 3, 1)>, Flatten, Dense<2> }
}

checks! {
    max_pooling3d_same_strided => MaxPool3Same(40),
    average_pooling3d_same => AvgPool3Same(41),
    global_pools_over_volumes => GlobalPools3(42),
    padding_cropping_and_upsampling_volumes => EdgesAndRepeats3(43),
    permute_of_rank_5 => Permute5(44),
}

sequential! {
    /// PReLU over a volume: an alpha per value, shared over the three leading axes, and over
    /// two axes apart.
    struct PreluVolume<f64> {
        Input<2, 3, 2, 3>, Dense<3>, PReLU, Dense<2>, PReLU<shared_axes = (1, 2, 3)>, Dense<3>,
        PReLU<shared_axes = (2, 4)>, Flatten, Dense<2>
    }
}

#[test]
fn prelu_on_volumes_shared_and_not() {
    check(randomized(PreluVolume::seeded(45), 145));
}

functional! {
    /// Softmax with a mask given as an input (random, so none of it is exactly 0 or 1: the
    /// harness's inputs), over the last axis and over the steps.
    struct SoftmaxMasked<f64> {
        x = Input<3, 4>;
        m = Input<1, 4>;
        s = Dense<4, tanh>(x);
        a = Softmax(s, mask = m);
        b = Softmax<axis = 1>(a, mask = m);
        f = Flatten(b);
        out = Dense<2>(f);
    }
}

#[test]
fn softmax_with_a_mask_input() {
    check(SoftmaxMasked::seeded(46));
}
