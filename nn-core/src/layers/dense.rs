//! `Dense`: Keras's fully connected layer, `y = activation(x · kernel + bias)`.

use crate::Float;
use crate::activations::{ActivationFn, Linear};
use crate::init::{Initializers, Rng};
use crate::kernels::cpu::Level;
use crate::kernels::{flat, flat_mut};
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Lead, One, Tensor, cast_slice, cast_slice_mut, rows, rows_mut};
use crate::train::{Write, Writes};
use crate::weights::bytes;
use core::marker::PhantomData;
use nalgebra::{ArrayStorage, SMatrix, SVector};

/// A fully connected layer from `IN` to `OUT` features.
///
/// On a sequence or an image (`L` is [`Steps`](crate::tensor::Steps) or
/// [`Grid`](crate::tensor::Grid)) it acts on the last axis, as Keras's `Dense` does: every step
/// or pixel goes through the same kernel, so the whole tensor is one matrix product.
///
/// The kernel is stored as an `OUT × IN` nalgebra matrix. nalgebra is column-major, so its memory
/// holds Keras's `[in, out]` kernel exactly, row after row: weights load without a transpose and
/// the forward pass walks memory in order (one `axpy` per input feature).
///
/// With `USE_BIAS = false` (Keras's `use_bias=False`) the bias is neither used, counted nor loaded.
///
/// ```
/// use nn_core::activations::Relu;
/// use nn_core::layers::Dense;
/// use nn_core::{Layer, nalgebra::Vector2};
///
/// // Keras kernel [in=2, out=2] and bias.
/// let dense = Dense::<f32, 2, 2, Relu>::from_arrays([[1.0, -1.0], [2.0, 0.5]], [0.5, 0.0]);
/// // y = relu([1*1 + 2*3 + 0.5, -1*1 + 0.5*3 + 0]) = [7.5, 0.5]
/// assert_eq!(dense.forward(&Vector2::new(1.0, 3.0)), Vector2::new(7.5, 0.5));
/// ```
// Aligned to a cache line, kernel first: a kernel row of 16 floats is then one 64-byte load
// rather than two halves of neighbouring lines, and the split loads had cost M2 a third of
// its one-sample time (5.4 against 3.4 µs). Only where such loads exist: on a microcontroller
// the padding would be RAM for nothing.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(C, align(64)))]
pub struct Dense<T, const IN: usize, const OUT: usize, A = Linear, const USE_BIAS: bool = true, L = One> {
    /// The kernel, `OUT × IN`; its memory is Keras's `[in, out]` kernel.
    pub kernel: SMatrix<T, OUT, IN>,
    /// The bias (kept at zero and ignored when `USE_BIAS` is false).
    pub bias: SVector<T, OUT>,
    /// The activation applied to the output.
    pub activation: A,
    _lead: PhantomData<L>,
}

impl<T: Float, const IN: usize, const OUT: usize, A: ActivationFn, const USE_BIAS: bool, L: Lead>
    Dense<T, IN, OUT, A, USE_BIAS, L>
{
    /// All weights zero, the activation with Keras's default options.
    pub const ZEROS: Self = Self::from_arrays([[T::ZERO; OUT]; IN], [T::ZERO; OUT]);

    /// Keras's kernel shape.
    const KERNEL_SHAPE: &'static [usize] = &[IN, OUT];
    /// Keras's bias shape.
    const BIAS_SHAPE: &'static [usize] = &[OUT];

    /// Builds the layer from Keras-layout arrays: `kernel[i][o]` weighs input `i` into output `o`.
    /// The activation takes Keras's default options; set [`Dense::activation`] to change them.
    pub const fn from_arrays(kernel: [[T; OUT]; IN], bias: [T; OUT]) -> Self {
        Dense {
            kernel: SMatrix::from_array_storage(ArrayStorage(kernel)),
            bias: SVector::from_array_storage(ArrayStorage([bias])),
            activation: A::DEFAULT,
            _lead: PhantomData,
        }
    }

    /// Reads the kernel, then the bias, from raw weight bytes at `at`; returns the offset
    /// after them. Used by the macros' `from_bytes`, after the length was checked.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        let at = bytes::read(bytes, at, self.kernel.data.0.as_flattened_mut());
        if USE_BIAS { bytes::read(bytes, at, self.bias.data.0.as_flattened_mut()) } else { at }
    }

    /// One row, with the kernels for `level`.
    #[inline(always)]
    fn one(&self, level: Level, x: &SVector<T, IN>) -> SVector<T, OUT> {
        let mut y =
            if USE_BIAS { self.bias } else { SVector::from_array_storage(ArrayStorage([[T::ZERO; OUT]])) };
        if !T::accumulate_one(level, x.as_slice(), self.kernel.as_slice(), y.as_mut_slice(), IN, OUT) {
            self.accumulate(level, x, &mut y);
        }
        self.activation.apply(&mut y);
        y
    }

    /// `ys[i] = one(xs[i])` for as many rows as both hold: samples of a batch, steps of a
    /// sequence or pixels of an image alike.
    #[inline(always)]
    fn rows(&self, level: Level, xs: &[SVector<T, IN>], ys: &mut [SVector<T, OUT>]) {
        let rows = xs.len().min(ys.len());
        let bias = if USE_BIAS { Some(self.bias.as_slice()) } else { None };
        let (xs, ys) = (&xs[..rows], &mut ys[..rows]);
        if crate::kernels::gemm::dense_rows(
            level,
            flat(xs),
            IN,
            self.kernel.as_slice(),
            bias,
            flat_mut(ys),
            IN,
            OUT,
        ) {
            for y in ys {
                self.activation.apply(y);
            }
        } else {
            // Without a register-blocked kernel, the one-sample pass (sizes known to the compiler,
            // running sums) beats a plain product over the batch: M2 at the portable level ran
            // 9.0 µs a sample against 12.4 µs.
            for (x, y) in xs.iter().zip(ys) {
                *y = self.one(level, x);
            }
        }
    }

    /// `y += x · kernel` in plain Rust, for element types and levels without a SIMD kernel.
    #[inline(always)]
    fn accumulate(&self, level: Level, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) {
        // Column `i` of the kernel is Keras's row `i`: scale it by x[i] and accumulate.
        let kernel: &[[T; OUT]; IN] = &self.kernel.data.0;
        let x: &[T; IN] = &x.data.0[0];
        let acc: &mut [T; OUT] = &mut y.data.0[0];
        // Several running sums per output, over consecutive rows: one sum makes every add wait
        // on the last, and that latency, not arithmetic, bounds a narrow layer. But sums that
        // outgrow the vector registers spill, which costs more than the latency: keep them
        // within three quarters of the registers `level` compiles for (a constant once inlined).
        let registers = match level {
            Level::Avx512 => 32 * 64,
            Level::Avx2 => 16 * 32,
            Level::Portable if cfg!(target_arch = "aarch64") => 32 * 16,
            Level::Portable => 16 * 16,
        };
        let sum_bytes = OUT * core::mem::size_of::<T>();
        let sums = [4, 2, 1].into_iter().find(|s| s * sum_bytes <= registers * 3 / 4).unwrap_or(1);
        let mut i = 0;
        if sums == 4 {
            let mut parts = [[T::ZERO; OUT]; 4];
            while i + 4 <= IN {
                for o in 0..OUT {
                    parts[0][o] += kernel[i][o] * x[i];
                    parts[1][o] += kernel[i + 1][o] * x[i + 1];
                    parts[2][o] += kernel[i + 2][o] * x[i + 2];
                    parts[3][o] += kernel[i + 3][o] * x[i + 3];
                }
                i += 4;
            }
            for o in 0..OUT {
                acc[o] += (parts[0][o] + parts[1][o]) + (parts[2][o] + parts[3][o]);
            }
        }
        if sums >= 2 {
            let mut parts = [[T::ZERO; OUT]; 2];
            while i + 2 <= IN {
                for o in 0..OUT {
                    parts[0][o] += kernel[i][o] * x[i];
                    parts[1][o] += kernel[i + 1][o] * x[i + 1];
                }
                i += 2;
            }
            for o in 0..OUT {
                acc[o] += parts[0][o] + parts[1][o];
            }
        }
        while i < IN {
            for o in 0..OUT {
                acc[o] += kernel[i][o] * x[i];
            }
            i += 1;
        }
    }
}

impl<T: Float, const IN: usize, const OUT: usize, A: ActivationFn, const USE_BIAS: bool, L: Lead> Layer
    for Dense<T, IN, OUT, A, USE_BIAS, L>
{
    type Scalar = T;
    type Input = L::Of<T, IN>;
    type Output = L::Of<T, OUT>;
    const CLASS: &'static str = "Dense";
    const PARAMS: usize = IN * OUT + if USE_BIAS { OUT } else { 0 };

    /// With the best kernels this CPU has (see [`Layer::forward_at`]).
    #[inline(always)]
    fn forward(&self, x: &Self::Input) -> Self::Output {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    #[inline(always)]
    fn forward_at(&self, level: Level, x: &Self::Input) -> Self::Output {
        if L::ROWS == 1 {
            // A vector: the one-row pass, which returns its result in registers.
            let y = self.one(level, &rows(x)[0]);
            // SAFETY: with one row, `Self::Output` is `OUT` contiguous `T`s (the `Tensor`
            // contract), exactly an `SVector<T, OUT>`. (`tensor::view` would say so at compile
            // time, but its check also fires in the branch other leads never take.)
            unsafe { core::mem::transmute_copy::<SVector<T, OUT>, Self::Output>(&y) }
        } else {
            let mut y = Self::Output::ZEROS;
            self.rows(level, rows(x), rows_mut(&mut y));
            y
        }
    }

    #[inline(always)]
    fn forward_batch(&self, level: Level, xs: &[Self::Input], ys: &mut [Self::Output]) {
        let n = xs.len().min(ys.len());
        self.rows(level, cast_slice(&xs[..n]), cast_slice_mut(&mut ys[..n]));
    }

    fn init_keras(&mut self, rng: &mut Rng) {
        // Keras's defaults directly, not through `Initializer::fill`: a model that names no
        // initializer links none of them (mnist_mlp's binary grew 19 KB otherwise).
        crate::init::glorot_uniform(self.kernel.as_mut_slice(), IN, OUT, rng);
        self.bias.fill(T::ZERO);
    }

    /// `init.kernel` over the kernel, Keras's shape `(IN, OUT)` (fans `IN` and `OUT`), then
    /// `init.bias` over the bias, shape `(OUT,)` (both fans `OUT`), as Keras builds them; without
    /// a bias, it stays zero and draws nothing.
    fn init_with(&mut self, rng: &mut Rng, init: &Initializers) {
        init.kernel.fill(self.kernel.as_mut_slice(), IN, OUT, rng);
        if USE_BIAS {
            init.bias.fill(self.bias.as_mut_slice(), OUT, OUT, rng);
        } else {
            self.bias.fill(T::ZERO);
        }
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, T>)) {
        f(WeightRef { name: "kernel", shape: Self::KERNEL_SHAPE, data: self.kernel.as_slice() });
        if USE_BIAS {
            f(WeightRef { name: "bias", shape: Self::BIAS_SHAPE, data: self.bias.as_slice() });
        }
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, T>)) {
        f(WeightMut { name: "kernel", shape: Self::KERNEL_SHAPE, data: self.kernel.as_mut_slice() });
        if USE_BIAS {
            f(WeightMut { name: "bias", shape: Self::BIAS_SHAPE, data: self.bias.as_mut_slice() });
        }
    }
}

/// Keeps the pre-activation `x · kernel + bias`, which the activation's derivative reads.
impl<T: Float, const IN: usize, const OUT: usize, A: ActivationFn, const USE_BIAS: bool, L: Lead>
    crate::train::Train for Dense<T, IN, OUT, A, USE_BIAS, L>
{
    type Kept = L::Of<T, OUT>;
    const KEPT: Self::Kept = <L::Of<T, OUT> as Tensor>::ZEROS;

    #[inline(always)]
    fn forward_train(
        &mut self,
        level: Level,
        xs: &[Self::Input],
        ys: &mut [Self::Output],
        kept: &mut [Self::Kept],
        _ctx: &mut crate::train::Ctx<'_>,
    ) {
        let (xs, zs) = (cast_slice::<_, SVector<T, IN>>(xs), cast_slice_mut::<_, SVector<T, OUT>>(kept));
        let bias = if USE_BIAS { Some(self.bias.as_slice()) } else { None };
        if !crate::kernels::gemm::dense_rows(
            level,
            flat(xs),
            IN,
            self.kernel.as_slice(),
            bias,
            flat_mut(zs),
            IN,
            OUT,
        ) {
            for (x, z) in xs.iter().zip(zs.iter_mut()) {
                *z = if USE_BIAS { self.bias } else { SVector::zeros() };
                self.accumulate(level, x, z);
            }
        }
        // The activation over the whole batch at once, from the kept pre-activation.
        let rows = ys.len().min(kept.len());
        self.activation.apply_batch_from(
            crate::tensor::flatten(&kept[..rows]),
            crate::tensor::flatten_mut(&mut ys[..rows]),
            OUT,
        );
    }

    #[inline(always)]
    fn backward(
        &self,
        level: Level,
        xs: &[Self::Input],
        ys: &[Self::Output],
        kept: &[Self::Kept],
        dys: &mut [Self::Output],
        dxs: Option<&mut [Self::Input]>,
        grads: Option<&mut Self>,
    ) {
        self.backward_writing(level, xs, ys, kept, dys, dxs, grads, Writes::ADD);
    }

    /// The products start from zero where the gradient is set, so nothing is zeroed first.
    #[inline(always)]
    fn backward_with(
        &self,
        level: Level,
        xs: &[Self::Input],
        ys: &[Self::Output],
        kept: &[Self::Kept],
        dys: &mut [Self::Output],
        dxs: Option<&mut [Self::Input]>,
        grads: Option<&mut Self>,
        writes: Writes,
    ) {
        self.backward_writing(level, xs, ys, kept, dys, dxs, grads, writes);
    }
}

impl<T: Float, const IN: usize, const OUT: usize, A: ActivationFn, const USE_BIAS: bool, L: Lead>
    Dense<T, IN, OUT, A, USE_BIAS, L>
{
    /// [`Train::backward_with`](crate::train::Train::backward_with) over a batch.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn backward_writing(
        &self,
        level: Level,
        xs: &[L::Of<T, IN>],
        ys: &[L::Of<T, OUT>],
        kept: &[L::Of<T, OUT>],
        dys: &mut [L::Of<T, OUT>],
        mut dxs: Option<&mut [L::Of<T, IN>]>,
        grads: Option<&mut Self>,
        writes: Writes,
    ) {
        // The whole batch in one call, as the forward pass: per sample, LLVM vectorized a
        // softmax's rows across the samples, through gathers and scatters.
        let rows = kept.len().min(ys.len()).min(dys.len());
        self.activation.backward_rows(
            crate::tensor::flatten(&kept[..rows]),
            crate::tensor::flatten(&ys[..rows]),
            crate::tensor::flatten_mut(&mut dys[..rows]),
            OUT,
        );
        let xs = cast_slice::<_, SVector<T, IN>>(xs);
        let dzs: &[[T; OUT]] = rows_of(cast_slice::<_, SVector<T, OUT>>(dys));
        let (mut kernel, bias) = match grads {
            Some(g) => (Some(g.kernel.as_mut_slice()), Some(&mut g.bias)),
            None => (None, None),
        };
        if let Some(bias) = bias.filter(|_| USE_BIAS) {
            super::product::bias_gradient(dzs.as_flattened(), bias.as_mut_slice(), writes.grads);
        }
        // The rows as a product's: the batched kernels compute `xᵀ · dz` and `dz · kernelᵀ`.
        let done = super::product::rows_backward::<T, IN, OUT>(
            level,
            flat(xs),
            dzs.as_flattened(),
            self.kernel.as_slice(),
            kernel.as_deref_mut(),
            dxs.as_deref_mut().map(|d| flat_mut(cast_slice_mut::<_, SVector<T, IN>>(d))),
            writes,
        );
        if !done {
            // The plain loops add: what is to be set starts from zero.
            if let (Write::Set, Some(k)) = (writes.grads, kernel.as_deref_mut()) {
                k.fill(T::ZERO);
            }
            if let (Write::Set, Some(d)) = (writes.dxs, dxs.as_deref_mut()) {
                crate::tensor::flatten_mut(d).fill(T::ZERO);
            }
            self.backward_rows(xs, dzs, dxs, kernel);
        }
    }

    /// The backward pass's products in plain loops, for rows too wide for the batched ones'
    /// stack buffers: the kernel's gradient and the input's.
    #[inline(always)]
    fn backward_rows(
        &self,
        xs: &[SVector<T, IN>],
        dzs: &[[T; OUT]],
        dxs: Option<&mut [L::Of<T, IN>]>,
        kernel: Option<&mut [T]>,
    ) {
        if let Some(kernel) = kernel {
            // Keras's kernel row `i` gathers `x[i] · dz` over the rows, held in registers
            // across them (`OUT` is a constant).
            for (i, row) in kernel.chunks_exact_mut(OUT).enumerate() {
                let mut acc = [T::ZERO; OUT];
                acc.copy_from_slice(row);
                for (x, dz) in xs.iter().zip(dzs) {
                    let xi = x.as_slice()[i];
                    for (a, d) in acc.iter_mut().zip(dz) {
                        *a += xi * *d;
                    }
                }
                row.copy_from_slice(&acc);
            }
        }
        if let Some(dxs) = dxs {
            // `dx[i] = kernel row i · dz`, in eight running sums so the dot product vectorizes.
            let kernel: &[[T; OUT]; IN] = &self.kernel.data.0;
            for (dx, dz) in cast_slice_mut::<_, SVector<T, IN>>(dxs).iter_mut().zip(dzs) {
                for (d, row) in dx.as_mut_slice().iter_mut().zip(kernel) {
                    *d += crate::kernels::dot(row, dz);
                }
            }
        }
    }
}

/// A slice of vectors as arrays, which index without nalgebra's strides.
#[inline(always)]
fn rows_of<T, const N: usize>(v: &[SVector<T, N>]) -> &[[T; N]] {
    // SAFETY: `SVector<T, N>` is a `repr(C)` matrix over `ArrayStorage<T, N, 1>`, a
    // `repr(transparent)` `[[T; N]; 1]`: exactly a `[T; N]`.
    unsafe { core::slice::from_raw_parts(v.as_ptr().cast::<[T; N]>(), v.len()) }
}

// SAFETY: the fields are float matrices and an activation that is itself `Zeroable`.
unsafe impl<T: Float, const IN: usize, const OUT: usize, A: Zeroable, const USE_BIAS: bool, L> Zeroable
    for Dense<T, IN, OUT, A, USE_BIAS, L>
{
}

/// A Dense layer over a sequence steps as a Dense layer over one step's vector.
impl<T: Float, const IN: usize, const OUT: usize, A: ActivationFn, const USE_BIAS: bool, const S: usize>
    crate::stream::Stream<()> for Dense<T, IN, OUT, A, USE_BIAS, crate::tensor::Steps<S>>
{
    type StepIn = SVector<T, IN>;
    type StepOut = SVector<T, OUT>;

    #[inline(always)]
    fn step(&self, level: Level, _: &mut (), x: &SVector<T, IN>) -> SVector<T, OUT> {
        self.one(level, x)
    }
}

/// Keras's `EinsumDense` where its equation is a Dense layer over reshaped axes: the input
/// `(P..., C...)`, the kernel `(C..., O...)` and the output `(P..., O...)` (`abc,cde->abde`,
/// `abcd,cde->abe`, `ab,bc->ac`, `...b,bc->...c`), with a bias over all of `O` or none. The
/// product is the [`Dense`] `D = Dense<T, IN, OUT, A, USE_BIAS, L>` from the `IN` values of `C`
/// to the `OUT` of `O` at each position of `P` (`L`), in the same memory; `X` and `Y` give the
/// Keras shapes, and `C1, C2` and `O1, O2` the kernel's (`C2` or `O2` zero where `C` or `O` has
/// one axis).
///
/// ```
/// use nn_core::layers::{Dense, EinsumDense};
/// use nn_core::tensor::{Tensor, Tensor2, One};
/// use nn_core::Layer;
/// use nn_core::nalgebra::Vector2;
/// // EinsumDense("ab,bcd->acd", output_shape=(2, 2)): a vector of 2 into a 2×2 matrix.
/// type L = EinsumDense<Vector2<f32>, Tensor2<f32, 2, 2>, 2, 4, nn_core::activations::Linear, false, One, 2, 0, 2, 2>;
/// let mut layer = L::ZEROS;
/// layer.dense = Dense::from_arrays([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]], [0.0; 4]);
/// let y = layer.forward(&Vector2::new(1.0, 0.5));
/// assert_eq!(y.as_slice(), &[6.0, 12.0, 18.0, 24.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EinsumDense<
    X: Tensor,
    Y,
    const IN: usize,
    const OUT: usize,
    A,
    const USE_BIAS: bool,
    L,
    const C1: usize,
    const C2: usize,
    const O1: usize,
    const O2: usize,
> {
    /// The product in Dense's layout (whose memory is Keras's kernel and bias).
    pub dense: Dense<X::Scalar, IN, OUT, A, USE_BIAS, L>,
    _shapes: PhantomData<fn(X) -> Y>,
}

impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const IN: usize,
    const OUT: usize,
    A: ActivationFn,
    const USE_BIAS: bool,
    L: Lead,
    const C1: usize,
    const C2: usize,
    const O1: usize,
    const O2: usize,
> EinsumDense<X, Y, IN, OUT, A, USE_BIAS, L, C1, C2, O1, O2>
{
    /// All weights zero, the activation with Keras's default options.
    pub const ZEROS: Self = EinsumDense { dense: Dense::ZEROS, _shapes: PhantomData };
    /// Keras's kernel shape, `(C..., O...)`.
    const KERNEL_SHAPE: &'static [usize] = match (C2, O2) {
        (0, 0) => &[C1, O1],
        (0, _) => &[C1, O1, O2],
        (_, 0) => &[C1, C2, O1],
        _ => &[C1, C2, O1, O2],
    };
    /// Keras's bias shape, `O`.
    const BIAS_SHAPE: &'static [usize] = if O2 == 0 { &[O1] } else { &[O1, O2] };

    /// Reads the kernel, then the bias, from raw weight bytes at `at`.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        self.dense.read_le_bytes(bytes, at)
    }

    /// The input and output as the Dense layer's (checked to hold as many values).
    #[inline(always)]
    fn as_dense(x: &X) -> &L::Of<X::Scalar, IN> {
        const { assert!(X::LEN == L::ROWS * IN && Y::LEN == L::ROWS * OUT, "EinsumDense: shapes") };
        &cast_slice(core::slice::from_ref(x))[0]
    }

    /// Keras's shapes for the Dense layer's weights, and its fans for the kernel.
    fn keras_shape(name: &str) -> &'static [usize] {
        if name == "kernel" { Self::KERNEL_SHAPE } else { Self::BIAS_SHAPE }
    }
}

impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const IN: usize,
    const OUT: usize,
    A: ActivationFn,
    const USE_BIAS: bool,
    L: Lead,
    const C1: usize,
    const C2: usize,
    const O1: usize,
    const O2: usize,
> Layer for EinsumDense<X, Y, IN, OUT, A, USE_BIAS, L, C1, C2, O1, O2>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = "EinsumDense";
    const PARAMS: usize = IN * OUT + if USE_BIAS { OUT } else { 0 };

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    #[inline(always)]
    fn forward_at(&self, level: Level, x: &X) -> Y {
        let y = self.dense.forward_at(level, Self::as_dense(x));
        cast_slice::<_, Y>(core::slice::from_ref(&y))[0]
    }

    #[inline(always)]
    fn forward_batch(&self, level: Level, xs: &[X], ys: &mut [Y]) {
        self.dense.forward_batch(level, cast_slice(xs), cast_slice_mut(ys));
    }

    /// Keras's initializers over Keras's shapes: glorot's fans of a kernel of more than two
    /// axes count its receptive field, `C1` (`(c, d, e)` has fans `c·d` and `c·e`).
    fn init_keras(&mut self, rng: &mut Rng) {
        let (fan_in, fan_out) = crate::init::compute_fans(Self::KERNEL_SHAPE);
        crate::init::glorot_uniform(self.dense.kernel.as_mut_slice(), fan_in, fan_out, rng);
        self.dense.bias.fill(X::Scalar::ZERO);
    }

    fn init_with(&mut self, rng: &mut Rng, init: &Initializers) {
        let (fan_in, fan_out) = crate::init::compute_fans(Self::KERNEL_SHAPE);
        init.kernel.fill(self.dense.kernel.as_mut_slice(), fan_in, fan_out, rng);
        if USE_BIAS {
            let (fan_in, fan_out) = crate::init::compute_fans(Self::BIAS_SHAPE);
            init.bias.fill(self.dense.bias.as_mut_slice(), fan_in, fan_out, rng);
        } else {
            self.dense.bias.fill(X::Scalar::ZERO);
        }
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, X::Scalar>)) {
        self.dense.visit_weights(&mut |w| f(WeightRef { shape: Self::keras_shape(w.name), ..w }));
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, X::Scalar>)) {
        self.dense.visit_weights_mut(&mut |w| f(WeightMut { shape: Self::keras_shape(w.name), ..w }));
    }
}

// SAFETY: a `Zeroable` Dense layer and a zero-sized marker.
unsafe impl<
    X: Tensor,
    Y,
    const IN: usize,
    const OUT: usize,
    A: Zeroable,
    const USE_BIAS: bool,
    L,
    const C1: usize,
    const C2: usize,
    const O1: usize,
    const O2: usize,
> Zeroable for EinsumDense<X, Y, IN, OUT, A, USE_BIAS, L, C1, C2, O1, O2>
where
    Dense<X::Scalar, IN, OUT, A, USE_BIAS, L>: Zeroable,
{
}

/// The Dense layer's passes on the same memory.
impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const IN: usize,
    const OUT: usize,
    A: ActivationFn,
    const USE_BIAS: bool,
    L: Lead,
    const C1: usize,
    const C2: usize,
    const O1: usize,
    const O2: usize,
> crate::train::Train for EinsumDense<X, Y, IN, OUT, A, USE_BIAS, L, C1, C2, O1, O2>
{
    type Kept = <Dense<X::Scalar, IN, OUT, A, USE_BIAS, L> as crate::train::Train>::Kept;
    const KEPT: Self::Kept = <Dense<X::Scalar, IN, OUT, A, USE_BIAS, L> as crate::train::Train>::KEPT;

    #[inline(always)]
    fn forward_train(
        &mut self,
        level: Level,
        xs: &[X],
        ys: &mut [Y],
        kept: &mut [Self::Kept],
        ctx: &mut crate::train::Ctx<'_>,
    ) {
        self.dense.forward_train(level, cast_slice(xs), cast_slice_mut(ys), kept, ctx);
    }

    #[inline(always)]
    fn backward(
        &self,
        level: Level,
        xs: &[X],
        ys: &[Y],
        kept: &[Self::Kept],
        dys: &mut [Y],
        dxs: Option<&mut [X]>,
        grads: Option<&mut Self>,
    ) {
        let dxs = dxs.map(|d| cast_slice_mut(d));
        let grads = grads.map(|g| &mut g.dense);
        self.dense.backward(level, cast_slice(xs), cast_slice(ys), kept, cast_slice_mut(dys), dxs, grads);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activations::{Sigmoid, Softmax};
    use nalgebra::{Vector2, Vector3};

    /// The batched products and the plain loops (for rows too wide for the products' buffers)
    /// give the same gradients, on every level.
    #[test]
    fn the_backward_products_and_loops_agree() {
        use crate::train::Train;
        let mut rng = Rng::new(3);
        let mut dense = Dense::<f64, 7, 5, Sigmoid>::ZEROS;
        dense.init_keras(&mut rng);
        dense.bias = SVector::from_fn(|i, _| 0.1 * i as f64);
        let xs: [SVector<f64, 7>; 30] =
            core::array::from_fn(|s| SVector::from_fn(|i, _| ((i * 3 + s) % 5) as f64 - 2.0));
        let dys: [SVector<f64, 5>; 30] =
            core::array::from_fn(|s| SVector::from_fn(|i, _| ((i + 2 * s) % 7) as f64 * 0.1));
        let mut ys = [SVector::zeros(); 30];
        let mut kept = [SVector::zeros(); 30];
        let mut rng = Rng::new(1);
        let mut ctx = crate::train::Ctx { trainable: true, rng: &mut rng, penalty: &mut 0.0 };
        dense.forward_train(Level::Portable, &xs, &mut ys, &mut kept, &mut ctx);
        for level in [Level::Portable, crate::kernels::cpu::level()] {
            let (mut g, mut dx, mut dz) = (Dense::<f64, 7, 5, Sigmoid>::ZEROS, [SVector::zeros(); 30], dys);
            dense.backward(level, &xs, &ys, &kept, &mut dz, Some(&mut dx), Some(&mut g));
            // The loops, from the activation's gradient the pass above left in `dz`.
            let (mut kernel, mut dx2) = ([0.0; 35], [SVector::<f64, 7>::zeros(); 30]);
            dense.backward_rows(&xs, rows_of(&dz), Some(&mut dx2), Some(&mut kernel));
            for (a, b) in g.kernel.as_slice().iter().zip(&kernel) {
                assert!((a - b).abs() < 1e-12, "{a} {b}");
            }
            for (a, b) in dx.iter().zip(&dx2) {
                assert!((a - b).norm() < 1e-12);
            }
        }
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn the_kernel_starts_on_a_cache_line() {
        assert_eq!(core::mem::align_of::<Dense<f32, 3, 5>>(), 64);
        let d = Dense::<f32, 3, 5>::ZEROS;
        assert_eq!(d.kernel.as_ptr() as usize % 64, 0);
        assert_eq!(d.kernel.as_ptr().cast::<u8>(), (&raw const d).cast::<u8>());
    }

    #[test]
    fn every_level_computes_the_same_sums() {
        // Wide and narrow layers, a ragged last register, an odd number of rows.
        fn check<T: Float, const IN: usize, const OUT: usize>() {
            let mut d = Dense::<T, IN, OUT>::ZEROS;
            d.init_keras(&mut Rng::new(IN as u64 * 1000 + OUT as u64));
            d.bias.iter_mut().enumerate().for_each(|(i, b)| *b = T::of(i as f64 / 10.0));
            let x = SVector::<T, IN>::from_fn(|i, _| T::of(((i * 7) % 5) as f64 - 2.0));
            let want = d.forward_at(Level::Portable, &x);
            for level in [Level::Avx2, Level::Avx512] {
                let got = d.forward_at(level, &x);
                for (g, w) in got.iter().zip(want.iter()) {
                    assert!(
                        (*g - *w).abs() <= T::of(1e-6) * w.abs().max(T::ONE),
                        "{level:?} {IN}x{OUT}: {g} vs {w}"
                    );
                }
            }
        }
        fn each<T: Float>() {
            check::<T, 1, 1>();
            check::<T, 3, 7>();
            check::<T, 17, 16>();
            check::<T, 16, 64>();
            check::<T, 33, 70>();
            check::<T, 5, 130>();
            check::<T, 64, 257>();
            check::<T, 9, 4>();
        }
        each::<f32>();
        each::<f64>();
    }

    #[test]
    fn computes_x_times_kernel_plus_bias_with_keras_kernel_layout() {
        // Keras kernel [in=3, out=2].
        let d = Dense::<f64, 3, 2>::from_arrays([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [0.5, -0.5]);
        // [1, 0, -1] · K = [1 - 5, 2 - 6] = [-4, -4]; plus bias.
        assert_eq!(d.forward(&Vector3::new(1.0, 0.0, -1.0)), Vector2::new(-3.5, -4.5));
    }

    #[test]
    fn without_bias_ignores_the_bias_and_does_not_count_it() {
        let mut d = Dense::<f32, 2, 2, Linear, false>::from_arrays([[1.0, 0.0], [0.0, 1.0]], [9.0, 9.0]);
        assert_eq!(d.forward(&Vector2::new(2.0, 3.0)), Vector2::new(2.0, 3.0));
        assert_eq!(<Dense<f32, 2, 2, Linear, false> as Layer>::PARAMS, 4);
        let mut names = [""; 2];
        let mut n = 0;
        d.visit_weights_mut(&mut |w| {
            names[n] = w.name;
            n += 1;
        });
        assert_eq!((n, names[0]), (1, "kernel"));
    }

    #[test]
    fn applies_its_activation_to_the_whole_output() {
        let d = Dense::<f64, 1, 2, Softmax>::from_arrays([[1.0, 1.0]], [0.0, 0.0]);
        assert_eq!(d.forward(&Vector::<1>::new(5.0)), Vector2::new(0.5, 0.5));
        let s = Dense::<f64, 1, 1, Sigmoid>::from_arrays([[2.0]], [-2.0]);
        assert_eq!(s.forward(&Vector::<1>::new(1.0))[0], 0.5);
    }

    type Vector<const N: usize> = nalgebra::SVector<f64, N>;

    #[test]
    fn exposes_weights_in_keras_row_major_layout() {
        let d = Dense::<f32, 2, 3>::from_arrays([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [7.0, 8.0, 9.0]);
        let mut seen = 0;
        d.visit_weights(&mut |w| {
            match w.name {
                "kernel" => {
                    assert_eq!(w.shape, &[2, 3]);
                    assert_eq!(w.data, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
                }
                "bias" => assert_eq!(w.data, &[7.0, 8.0, 9.0]),
                other => panic!("unexpected weight {other}"),
            }
            seen += 1;
        });
        assert_eq!(seen, 2);
        assert_eq!(<Dense<f32, 2, 3> as Layer>::PARAMS, 9);
    }

    #[test]
    fn init_with_fills_kernel_and_bias_with_their_initializers_and_fans() {
        use crate::init::Initializer;
        let init = Initializers {
            kernel: Initializer::HeUniform,
            bias: Initializer::Constant { value: 0.1 },
            ..Initializers::KERAS
        };
        let mut d = Dense::<f64, 6, 3>::ZEROS;
        d.init_with(&mut Rng::new(2), &init);
        // The kernel's fan_in is IN: he_uniform's limit is sqrt(6 / 6).
        let mut kernel = [0.0f64; 18];
        Initializer::HeUniform.fill(&mut kernel, 6, 3, &mut Rng::new(2));
        assert_eq!(d.kernel.as_slice(), &kernel);
        assert!(d.bias.iter().all(|b| *b == 0.1));
        // Without a bias, the bias stays zero.
        let mut d = Dense::<f64, 6, 3, Linear, false>::ZEROS;
        d.init_with(&mut Rng::new(2), &init);
        assert_eq!(d.kernel.as_slice(), &kernel);
        assert!(d.bias.iter().all(|b| *b == 0.0));
        // Keras's defaults are `init_keras`.
        let (mut a, mut b) = (Dense::<f32, 6, 3>::ZEROS, Dense::<f32, 6, 3>::ZEROS);
        a.init_with(&mut Rng::new(3), &Initializers::KERAS);
        b.init_keras(&mut Rng::new(3));
        assert_eq!(a, b);
    }

    #[test]
    fn keras_init_fills_the_kernel_within_glorot_bounds_and_zeroes_the_bias() {
        let mut d = Dense::<f32, 4, 4>::from_arrays([[0.0; 4]; 4], [1.0; 4]);
        d.init_keras(&mut Rng::new(5));
        let limit = (6.0f32 / 8.0).sqrt();
        assert!(d.kernel.iter().all(|w| w.abs() <= limit));
        assert!(d.kernel.iter().any(|w| *w != 0.0));
        assert!(d.bias.iter().all(|b| *b == 0.0));
    }
}
