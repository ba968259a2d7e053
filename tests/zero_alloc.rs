//! `predict` and `predict_batch` perform no heap allocation, counted by a global allocator.

use nn::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by the current thread, so parallel tests do not disturb each other.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; counting touches only a const-initialised
// thread-local, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

sequential! {
    struct EveryActivation<T> {
        Input<4>, Dense<8, relu>, Dense<8, leaky_relu(0.1)>, Dense<8, elu>, Dense<8, selu>,
        Dense<8, gelu>, Dense<8, gelu(approximate = true)>, Dense<8, sigmoid>, Dense<8, tanh>,
        Dense<8, silu>, Dense<8, softplus>, Dense<8, softsign>, Dense<8, hard_sigmoid>,
        Dense<8, hard_silu>, Dense<8, mish>, Dense<8, relu6>, Dense<8, relu(threshold = 0.1)>,
        Dense<8, exponential>, Dense<8, celu(0.5)>, Dense<8, hard_tanh>, Dense<8, log_sigmoid>,
        Dense<8, sparse_plus>, Dense<8, squareplus>, Dense<8, tanh_shrink>, Dense<8, hard_shrink>,
        Dense<8, soft_shrink>, Dense<8, threshold(0.1, 0.0)>, Dense<8, log_softmax>, Activation<softmax>,
        Dense<3, use_bias = false>
    }
}

sequential! {
    struct Mnist { Input<784>, Dense<128, relu>, Dense<64, relu>, Dense<10, softmax> }
}

#[test]
fn predict_allocates_nothing() {
    let small = EveryActivation::<f32>::seeded(1);
    let big = Mnist::boxed_seeded(2);
    let x4 = Vector4::new(0.1, -0.2, 0.3, -0.4);
    let x784 = SVector::<f32, 784>::from_fn(|i, _| i as f32 / 784.0);
    let mut y = Vector3::zeros();
    let mut p = SVector::<f32, 10>::zeros();
    let n = allocations_in(|| {
        y = small.predict(&x4);
        p = big.predict(&x784);
    });
    assert_eq!(n, 0);
    assert!(y.iter().all(|v| v.is_finite()));
    assert!((p.sum() - 1.0).abs() < 1e-5);
}

sequential! {
    struct Encoder { Input<8>, Dense<16, relu> }
}

functional! {
    /// Every merge, a shared layer, a nested model, two inputs and two outputs.
    struct Graph {
        left = Input<8>;
        right = Input<8>;
        encoder = Model<Encoder, 8, 16>;
        shared = Dense<16, tanh>;
        a = encoder(left);
        b = encoder(right);
        c = shared(a);
        d = shared(b);
        sum = Add(c, d, a);
        diff = Subtract(c, d);
        prod = Multiply(c, d);
        avg = Average(c, d);
        hi = Maximum(c, d);
        lo = Minimum(c, d);
        cos = Dot<normalize = true>(c, d);
        cat = Concatenate(sum, diff, prod, avg, hi, lo, cos);
        class = Dense<4, softmax>(cat);
        score = Dense<1>(cat);
        -> (class, score);
    }
}

#[test]
fn functional_predict_allocates_nothing() {
    let model = Graph::seeded(5);
    let (x, y) = (SVector::<f32, 8>::from_element(0.5), SVector::<f32, 8>::from_fn(|i, _| i as f32));
    let mut out = (SVector::zeros(), SVector::zeros());
    let n = allocations_in(|| out = model.predict(&(x, y)));
    assert_eq!(n, 0);
    assert!((out.0.sum() - 1.0).abs() < 1e-5 && out.1[0].is_finite());
}

#[test]
fn predict_batch_allocates_nothing() {
    let model = EveryActivation::<f64>::seeded(3);
    let xs = [Vector4::new(1.0, 2.0, 3.0, 4.0); 16];
    let mut ys = [Vector3::zeros(); 16];
    let n = allocations_in(|| model.predict_batch(&xs, &mut ys).unwrap());
    assert_eq!(n, 0);
    // The batch sums in another order than one sample does: equal to rounding.
    assert!((ys[15] - model.predict(&xs[0])).amax() < 1e-12);
}

#[test]
fn functional_predict_batch_allocates_nothing() {
    let model = Graph::seeded(7);
    let xs: Vec<_> =
        (0..70).map(|s| (SVector::from_element(s as f32 / 70.0), SVector::from_element(0.5))).collect();
    let mut ys = vec![(SVector::zeros(), SVector::zeros()); 70];
    let n = allocations_in(|| model.predict_batch(&xs, &mut ys).unwrap());
    assert_eq!(n, 0);
    assert!(ys.iter().all(|y| (y.0.sum() - 1.0).abs() < 1e-5 && y.1[0].is_finite()));
}

#[test]
fn batched_dense_kernels_allocate_nothing() {
    let big = Mnist::boxed_seeded(6);
    let xs: Vec<SVector<f32, 784>> = (0..64).map(|s| SVector::from_element(s as f32 / 64.0)).collect();
    let mut ys = vec![SVector::<f32, 10>::zeros(); 64];
    let n = allocations_in(|| big.predict_batch(&xs, &mut ys).unwrap());
    assert_eq!(n, 0);
    assert!(ys.iter().all(|y| (y.sum() - 1.0).abs() < 1e-5));
}

sequential! {
    struct Xor { Input<2>, Dense<8, relu>, Dense<1, sigmoid> }
}

/// Weights compiled into the binary: nothing parsed or allocated at run time.
static XOR: Xor = Xor::from_bytes(include_bytes!("fixtures/xor.nnw"));

#[test]
fn a_static_model_from_include_bytes_predicts_without_allocating() {
    let mut out = [0.0f32; 4];
    let n = allocations_in(|| {
        for (o, (a, b)) in out.iter_mut().zip([(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]) {
            *o = XOR.predict(&Vector2::new(a, b))[0];
        }
    });
    assert_eq!(n, 0);
    assert_eq!(out.map(|p| p > 0.5), [false, true, true, false]);
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the tests above against a counter that never counts.
    let n = allocations_in(|| drop(std::hint::black_box(Box::new(1u8))));
    assert_eq!(n, 1);
}

sequential! {
    /// Every convolution, pooling and reshaping path: patches through the GEMM, groups through
    /// the direct loop, depthwise and separable, padding, views.
    struct Convs {
        Input<12, 10, 4>,
        Conv2D<8, 3, padding = same, relu>,
        Conv2D<8, 3, groups = 2>,
        DepthwiseConv2D<3, depth_multiplier = 2, padding = same>,
        SeparableConv2D<8, 3, padding = same>,
        MaxPooling2D<2, padding = same>,
        AveragePooling2D<(2, 1), padding = same>,
        ZeroPadding2D<1>,
        Cropping2D<1>,
        UpSampling2D<2>,
        Permute<(2, 1, 3)>,
        GlobalAveragePooling2D<keepdims = true>,
        Flatten,
        RepeatVector<4>,
        Conv1D<6, 3, padding = causal, dilation_rate = 2>,
        Dense<3, softmax>,
        Reshape<(-1,)>,
    }
}

#[test]
fn convolutions_allocate_nothing() {
    let model = Convs::boxed_seeded(3);
    let x = Tensor3::<f32, 12, 10, 4>::from_slice(&[0.25; 480]);
    let xs = vec![x; 9];
    let mut ys = vec![<Convs as Model>::Output::zeros(); 9];
    let flat = vec![0.25f32; 480 * 9];
    let mut flat_out = vec![0.0f32; 12 * 9];
    let mut one = [0.0f32; 12];
    let n = allocations_in(|| {
        std::hint::black_box(model.predict(&x));
        model.predict_batch(&xs, &mut ys).unwrap();
        model.predict_flat(&[&flat[..480]], &mut [&mut one]).unwrap();
        model.predict_flat_batch(&[&flat], &mut [&mut flat_out]).unwrap();
    });
    assert_eq!(n, 0);
    assert!((ys[8].sum() - 4.0).abs() < 1e-5, "four steps of softmax over 3");
}

sequential! {
    /// Every normalization, regularization, preprocessing and activation layer, after an
    /// Embedding: ids in.
    struct Norms {
        Input<6>,
        Embedding<30, 8>,
        Rescaling<2.0, offset = 0.5>,
        Normalization<mean = 0.5, variance = 2.0>,
        Normalization,
        Dense<8>,
        BatchNormalization,
        LayerNormalization,
        GroupNormalization<2>,
        LayerNormalization<rms_scaling = true>,
        Dropout<0.5>,
        SpatialDropout1D<0.2>,
        GaussianNoise<0.1>,
        ReLU<max_value = 6.0>,
        LeakyReLU,
        ELU,
        PReLU<shared_axes = 1>,
        Softmax<1>,
        Softmax,
    }
}

#[test]
fn normalization_and_embedding_allocate_nothing() {
    use nn::tensor::Ids;
    let model = Norms::boxed_seeded(5);
    let x = Ids::<6, 30>::new([1, 29, 0, 7, 7, 3]).unwrap();
    let xs = vec![x; 9];
    let mut ys = vec![<<Norms as Model>::Output as Tensor>::ZEROS; 9];
    let flat: Vec<f32> = (0..6 * 9).map(|i| (i % 30) as f32).collect();
    let mut flat_out = vec![0.0f32; 48 * 9];
    let mut one = [0.0f32; 48];
    let n = allocations_in(|| {
        std::hint::black_box(model.predict(&x));
        model.predict_batch(&xs, &mut ys).unwrap();
        model.predict_flat(&[&flat[..6]], &mut [&mut one]).unwrap();
        model.predict_flat_batch(&[&flat], &mut [&mut flat_out]).unwrap();
    });
    assert_eq!(n, 0);
    assert!(
        (ys[8].as_slice().iter().sum::<f32>() - 6.0).abs() < 1e-4,
        "six steps of softmax over the last axis"
    );
}

sequential! {
    /// Every recurrent cell and option that changes the pass.
    struct Recurrent {
        Input<8, 3>,
        LSTM<4, return_sequences = true>,
        GRU<4, reset_after = false, go_backwards = true, return_sequences = true>,
        GRU<4, return_sequences = true>,
        Bidirectional<LSTM<3, return_sequences = true>, merge_mode = ave>,
        TimeDistributed<Dense<4, relu>>,
        Bidirectional<SimpleRNN<1, use_bias = false>>,
    }
}

#[test]
fn recurrent_layers_allocate_nothing() {
    let model = Recurrent::boxed_seeded(9);
    let x = Tensor2::<f32, 8, 3>::from_slice(&[0.25; 24]);
    let xs = vec![x; 5];
    let mut ys = vec![SVector::<f32, 2>::zeros(); 5];
    let n = allocations_in(|| {
        std::hint::black_box(model.predict(&x));
        model.predict_batch(&xs, &mut ys).unwrap();
    });
    assert_eq!(n, 0);
    assert_eq!(ys[4], model.predict(&x));
}

sequential! {
    #[stream]
    struct Stepped {
        Input<32, 1>,
        Dense<8, tanh>,
        Conv1D<4, 3, padding = causal, dilation_rate = 2, tanh>,
        GRU<8, return_sequences = true>,
        Dropout<0.2>,
        LSTM<4, return_sequences = true>,
        SimpleRNN<4, return_sequences = true>,
        TimeDistributed<Dense<2, relu>>,
        Dense<1>,
    }
}

#[test]
fn step_allocates_nothing() {
    let model = Stepped::boxed_seeded(2);
    let mut state = SteppedState::ZEROS;
    let mut out = 0.0f32;
    let n = allocations_in(|| {
        for t in 0..64 {
            out += model.step(&mut state, &SVector::from([(t as f32 * 0.1).sin()]))[0];
        }
    });
    assert_eq!(n, 0);
    assert!(out.is_finite());
}

functional! {
    /// An encoder's final states, returned and as a decoder's initial state.
    struct Seq2Seq {
        encoder_input = Input<6, 3>;
        decoder_input = Input<4, 2>;
        (_sequence, h, c) = LSTM<5, return_state = true>(encoder_input);
        decoded = LSTM<5, return_sequences = true>(decoder_input, h, c);
        y = Dense<2>(decoded);
        -> (y, h);
    }
}

#[test]
fn states_between_recurrent_layers_allocate_nothing() {
    let model = Seq2Seq::boxed_seeded(3);
    let x = (Tensor2::<f32, 6, 3>::from_slice(&[0.25; 18]), Tensor2::<f32, 4, 2>::from_slice(&[-0.5; 8]));
    let xs = vec![x; 3];
    let mut ys = vec![model.predict(&x); 3];
    let n = allocations_in(|| {
        std::hint::black_box(model.predict(&x));
        model.predict_batch(&xs, &mut ys).unwrap();
    });
    assert_eq!(n, 0);
    assert_eq!(ys[2], model.predict(&x));
}

functional! {
    struct SharedEncoder {
        left = Input<8>;
        right = Input<8>;
        encoder = Dense<16, relu>;
        a = encoder(left);
        b = encoder(right);
        d = Subtract(a, b);
        m = Multiply(a, b);
        features = Concatenate(d, m);
        score = Dense<1, sigmoid>(features);
        cosine = Dot<normalize = true>(a, b);
        -> (score, cosine);
    }
}

/// `train_on_batch` allocates only on its first call (the buffers for that batch size), on an
/// MLP and on a functional model with a shared layer, two outputs and every kind of optimizer
/// state (clipping, a schedule, weight decay).
#[test]
fn train_on_batch_allocates_nothing_after_the_first_call() {
    use nn::train::Compile;
    use nn::train::loss::{BinaryCrossentropy, CategoricalCrossentropy, MeanSquaredError};
    use nn::train::optimizer::{Adam, SGD};
    use nn::train::schedule::LearningRate;

    let mut mnist = Mnist::boxed_seeded(3);
    let x: Vec<SVector<f32, 784>> =
        (0..32).map(|s| SVector::from_fn(|i, _| ((i + s) % 7) as f32 / 7.0)).collect();
    let y: Vec<SVector<f32, 10>> =
        (0..32).map(|s| SVector::from_fn(|i, _| f32::from(u8::from(i == s % 10)))).collect();
    let adam = Adam::new(LearningRate::cosine_decay(0.01, 100.0)).global_clipnorm(1.0);
    let mut trainer =
        mnist.compile(adam, CategoricalCrossentropy::DEFAULT).unwrap().metrics(&["accuracy"]).unwrap();
    trainer.train_on_batch(&x, &y).unwrap();
    assert_eq!(
        allocations_in(|| {
            trainer.train_on_batch(&x, &y).unwrap();
        }),
        0
    );
    assert_eq!(
        allocations_in(|| {
            trainer.train_on_batch(&x[..7], &y[..7]).unwrap();
        }),
        0
    );

    // Flat data as numpy holds it, with class ids for a sparse loss: as the benchmarks call it.
    use nn::train::loss::SparseCategoricalCrossentropy;
    let flat_x: Vec<f32> = x.iter().flat_map(|s| s.iter().copied()).collect();
    let ids: Vec<f32> = (0..32).map(|s| (s % 10) as f32).collect();
    let mut trainer = mnist.compile(Adam::new(0.001), SparseCategoricalCrossentropy::DEFAULT).unwrap();
    trainer.train_on_batch_flat(&[&flat_x], &[&ids]).unwrap();
    assert_eq!(
        allocations_in(|| {
            trainer.train_on_batch_flat(&[&flat_x], &[&ids]).unwrap();
        }),
        0
    );

    let mut shared = SharedEncoder::boxed_seeded(4);
    let x: Vec<_> = (0..16)
        .map(|s| (SVector::from_fn(|i, _| (i * s % 5) as f32), SVector::from_fn(|i, _| (i + s) as f32 / 9.0)))
        .collect();
    let y: Vec<_> = (0..16).map(|s| (Vector1::new((s % 2) as f32), Vector1::new(0.5))).collect();
    let losses = [BinaryCrossentropy::DEFAULT.into(), MeanSquaredError.into()];
    let sgd = SGD::new(0.01).momentum(0.9).clipnorm(1.0).weight_decay(1e-4);
    let mut trainer = shared.compile(sgd, losses).unwrap().loss_weights(&[1.0, 0.5]).unwrap();
    trainer.train_on_batch(&x, &y).unwrap();
    assert_eq!(
        allocations_in(|| {
            trainer.train_on_batch(&x, &y).unwrap();
        }),
        0
    );
}

sequential! {
    struct CnnBn {
        Input<12, 10, 1>, Conv2D<8, 3, padding = same>, BatchNormalization, ReLU, MaxPooling2D<2>,
        Conv2D<8, 3>, Dropout<0.25>, GlobalAveragePooling2D, Dense<4, softmax>
    }
}

/// A CNN with BatchNormalization (batch statistics, moving averages) and Dropout (masks drawn
/// each step) trains with no allocation after its first step.
#[test]
fn a_cnn_with_batch_normalization_trains_without_allocating() {
    use nn::train::Compile;
    use nn::train::loss::CategoricalCrossentropy;
    use nn::train::optimizer::RMSprop;

    let mut model = CnnBn::boxed_seeded(5);
    let x: Vec<Tensor3<f32, 12, 10, 1>> = (0..16)
        .map(|s| Tensor3::from_slice(&(0..120).map(|i| ((i * 7 + s) % 13) as f32 / 13.0).collect::<Vec<_>>()))
        .collect();
    let y: Vec<SVector<f32, 4>> =
        (0..16).map(|s| SVector::from_fn(|i, _| f32::from(u8::from(i == s % 4)))).collect();
    let rms = RMSprop::new(0.001).momentum(0.5).centered(true);
    let mut trainer =
        model.compile(rms, CategoricalCrossentropy::DEFAULT).unwrap().metrics(&["accuracy"]).unwrap();
    trainer.train_on_batch(&x, &y).unwrap();
    assert_eq!(
        allocations_in(|| {
            trainer.train_on_batch(&x, &y).unwrap();
        }),
        0
    );
}
