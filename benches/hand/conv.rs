//! Hand-written direct-loop baselines for the three CNN benchmark models, in plain Rust: no nn
//! types, no nalgebra, fixed-size arrays on the stack, no allocation in `forward`, no SIMD
//! intrinsics and no `unsafe`.
//!
//! - [`KwsHand`]: Input (49, 10, 1) → Conv2D 16 (5, 3) strides (2, 1) valid relu →
//!   MaxPooling2D 2 → Conv2D 32 3×3 same relu → GlobalAveragePooling2D → Dense 12 softmax.
//! - [`SensorHand`]: Input (128, 6) → Conv1D 16 k5 strides 2 same relu → MaxPooling1D 2 →
//!   Conv1D 32 k3 valid relu → GlobalAveragePooling1D → Dense 8 (linear).
//! - [`AutoencoderHand`]: Input (8, 8, 1) → Conv2D 8 3×3 strides 2 same relu → Conv2D 4 3×3
//!   strides 2 same relu → Conv2DTranspose 16 3×3 strides 2 same relu → Conv2DTranspose 8 3×3
//!   strides 2 same relu → Conv2D 1 3×3 same sigmoid (examples/autoencoder.rs).
//! - [`VolumeHand`]: Input (8, 16, 16, 1) → Conv3D 8 3×3×3 same relu → MaxPooling3D 2 → Conv3D
//!   16 3×3×3 same relu → GlobalAveragePooling3D → Dense 4 softmax.
//!
//! Weights are kept in Keras's layouts (Conv2D kernel `(kh, kw, c_in, filters)`, Conv1D kernel
//! `(k, c_in, filters)`, Conv2DTranspose kernel `(kh, kw, filters, c_in)`, Dense kernel `(in,
//! out)`), and each convolution is the loop a competent engineer writes for that layout: for
//! every output position, start from the bias, then for every kernel tap inside the input
//! (padding is a bounds check, never a padded copy) and every input channel, add that input
//! value times the tap's row of filter weights (`acc[f] += x · w[.., ci, f]`, contiguous in
//! `f`). A transposed convolution runs the other way, from the input's side: every output
//! starts from the bias, then every input pixel, through every tap, adds
//! `Σ_c x[c] · w[.., f, c]` (contiguous in `c`) to the output pixel the tap lands on, when that
//! is inside the output. Inputs are row-major `(h, w, c)` and `(steps, channels)`, channels
//! last, as Keras has them. "same" padding follows Keras/TF: `out = ceil(in / stride)`,
//! `pad_total = max((out - 1) · stride + k - in, 0)`, the smaller half (`pad_total / 2`)
//! before; a "same" transposed convolution's output is `in · stride`, cropped from the start of
//! the full spread as `same_transpose_crop` says.

/// Output length of a "same" convolution (Keras/TF): `ceil(n / stride)`.
const fn same_out(n: usize, stride: usize) -> usize {
    n.div_ceil(stride)
}

/// Padding before the first element of a "same" convolution (Keras/TF): `pad_total / 2`.
const fn same_pad_before(n: usize, k: usize, stride: usize) -> usize {
    ((same_out(n, stride) - 1) * stride + k).saturating_sub(n) / 2
}

/// Output length of a "valid" convolution or pooling window.
const fn valid_out(n: usize, k: usize, stride: usize) -> usize {
    (n - k) / stride + 1
}

/// Copies the next `dst.len()` values of `src` into `dst` and advances `src`.
fn take(src: &mut &[f32], dst: &mut [f32]) {
    let (head, tail) = src.split_at(dst.len());
    dst.copy_from_slice(head);
    *src = tail;
}

// ---------------------------------------------------------------------------------------------
// KWS
// ---------------------------------------------------------------------------------------------

// Input (h, w, c).
const KWS_H0: usize = 49;
const KWS_W0: usize = 10;
const KWS_C0: usize = 1;
// Conv2D 16, kernel (5, 3), strides (2, 1), valid.
const KWS_K1H: usize = 5;
const KWS_K1W: usize = 3;
const KWS_S1H: usize = 2;
const KWS_S1W: usize = 1;
const KWS_F1: usize = 16;
const KWS_H1: usize = valid_out(KWS_H0, KWS_K1H, KWS_S1H); // 23
const KWS_W1: usize = valid_out(KWS_W0, KWS_K1W, KWS_S1W); // 8
// MaxPooling2D 2 (strides 2, valid).
const KWS_H2: usize = valid_out(KWS_H1, 2, 2); // 11
const KWS_W2: usize = valid_out(KWS_W1, 2, 2); // 4
// Conv2D 32, 3×3, strides 1, same: the output keeps the input's (11, 4).
const KWS_K2: usize = 3;
const KWS_F2: usize = 32;
const KWS_P2H: usize = same_pad_before(KWS_H2, KWS_K2, 1); // 1
const KWS_P2W: usize = same_pad_before(KWS_W2, KWS_K2, 1); // 1
// Dense 12, softmax.
const KWS_OUT: usize = 12;

/// The KWS model with hand-written direct loops; build it with [`KwsHand::from_flat`].
pub struct KwsHand {
    /// Conv2D kernel `(kh, kw, c_in, filters)`.
    conv1_w: [[[[f32; KWS_F1]; KWS_C0]; KWS_K1W]; KWS_K1H],
    conv1_b: [f32; KWS_F1],
    /// Conv2D kernel `(kh, kw, c_in, filters)`.
    conv2_w: [[[[f32; KWS_F2]; KWS_F1]; KWS_K2]; KWS_K2],
    conv2_b: [f32; KWS_F2],
    /// Dense kernel `(in, out)`.
    dense_w: [[f32; KWS_OUT]; KWS_F2],
    dense_b: [f32; KWS_OUT],
}

impl KwsHand {
    /// Input values per sample: `49 · 10 · 1`, row-major `(h, w, c)`.
    pub const N_IN: usize = KWS_H0 * KWS_W0 * KWS_C0;
    /// Output values per sample: 12 class probabilities.
    pub const N_OUT: usize = KWS_OUT;
    /// Weights in all: 240 + 16 + 4608 + 32 + 384 + 12 = 5292.
    pub const N_WEIGHTS: usize = KWS_K1H * KWS_K1W * KWS_C0 * KWS_F1
        + KWS_F1
        + KWS_K2 * KWS_K2 * KWS_F1 * KWS_F2
        + KWS_F2
        + KWS_F2 * KWS_OUT
        + KWS_OUT;

    /// Loads every weight, concatenated in Keras's `model.weights` order (conv1 kernel, conv1
    /// bias, conv2 kernel, conv2 bias, dense kernel, dense bias), each flattened row-major.
    ///
    /// # Panics
    ///
    /// If `w` does not hold exactly [`KwsHand::N_WEIGHTS`] values.
    pub fn from_flat(w: &[f32]) -> Box<Self> {
        assert_eq!(w.len(), Self::N_WEIGHTS, "KwsHand::from_flat: wrong number of weights");
        let mut m = Box::new(KwsHand {
            conv1_w: [[[[0.0; KWS_F1]; KWS_C0]; KWS_K1W]; KWS_K1H],
            conv1_b: [0.0; KWS_F1],
            conv2_w: [[[[0.0; KWS_F2]; KWS_F1]; KWS_K2]; KWS_K2],
            conv2_b: [0.0; KWS_F2],
            dense_w: [[0.0; KWS_OUT]; KWS_F2],
            dense_b: [0.0; KWS_OUT],
        });
        let mut src = w;
        take(&mut src, m.conv1_w.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        take(&mut src, &mut m.conv1_b);
        take(&mut src, m.conv2_w.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        take(&mut src, &mut m.conv2_b);
        take(&mut src, m.dense_w.as_flattened_mut());
        take(&mut src, &mut m.dense_b);
        m
    }

    /// One sample: `x` row-major `(49, 10, 1)` in, 12 softmax probabilities out.
    pub fn forward(&self, x: &[f32; Self::N_IN]) -> [f32; Self::N_OUT] {
        // Conv2D 16, (5, 3), strides (2, 1), valid, relu: every tap is inside the input.
        let mut a1 = [[[0.0f32; KWS_F1]; KWS_W1]; KWS_H1];
        for (oy, row) in a1.iter_mut().enumerate() {
            for (ox, acc) in row.iter_mut().enumerate() {
                *acc = self.conv1_b;
                for (ky, w_ky) in self.conv1_w.iter().enumerate() {
                    let iy = oy * KWS_S1H + ky;
                    for (kx, w_kx) in w_ky.iter().enumerate() {
                        let ix = ox * KWS_S1W + kx;
                        let xs = &x[(iy * KWS_W0 + ix) * KWS_C0..][..KWS_C0];
                        for (xv, w_ci) in xs.iter().zip(w_kx) {
                            for (a, w) in acc.iter_mut().zip(w_ci) {
                                *a += xv * w;
                            }
                        }
                    }
                }
                for a in acc.iter_mut() {
                    *a = a.max(0.0);
                }
            }
        }

        // MaxPooling2D 2, strides 2, valid.
        let mut a2 = [[[0.0f32; KWS_F1]; KWS_W2]; KWS_H2];
        for (oy, row) in a2.iter_mut().enumerate() {
            for (ox, out) in row.iter_mut().enumerate() {
                *out = a1[2 * oy][2 * ox];
                for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                    for (o, v) in out.iter_mut().zip(&a1[2 * oy + dy][2 * ox + dx]) {
                        *o = o.max(*v);
                    }
                }
            }
        }

        // Conv2D 32, 3×3, same (one row/column of zeros on each side), relu, summed over the
        // positions for GlobalAveragePooling2D.
        let mut gap = [0.0f32; KWS_F2];
        for oy in 0..KWS_H2 {
            for ox in 0..KWS_W2 {
                let mut acc = self.conv2_b;
                for (ky, w_ky) in self.conv2_w.iter().enumerate() {
                    // Row `oy + ky` of the input padded by KWS_P2H rows on top.
                    let py = oy + ky;
                    if py < KWS_P2H || py - KWS_P2H >= KWS_H2 {
                        continue;
                    }
                    let iy = py - KWS_P2H;
                    for (kx, w_kx) in w_ky.iter().enumerate() {
                        let px = ox + kx;
                        if px < KWS_P2W || px - KWS_P2W >= KWS_W2 {
                            continue;
                        }
                        let ix = px - KWS_P2W;
                        for (xv, w_ci) in a2[iy][ix].iter().zip(w_kx) {
                            for (a, w) in acc.iter_mut().zip(w_ci) {
                                *a += xv * w;
                            }
                        }
                    }
                }
                for (g, a) in gap.iter_mut().zip(&acc) {
                    *g += a.max(0.0);
                }
            }
        }
        for g in &mut gap {
            *g /= (KWS_H2 * KWS_W2) as f32;
        }

        // Dense 12, softmax (max subtracted).
        dense_softmax(&gap, &self.dense_w, &self.dense_b)
    }
}

// ---------------------------------------------------------------------------------------------
// Sensor
// ---------------------------------------------------------------------------------------------

// Input (steps, channels).
const SEN_L0: usize = 128;
const SEN_C0: usize = 6;
// Conv1D 16, kernel 5, strides 2, same.
const SEN_K1: usize = 5;
const SEN_S1: usize = 2;
const SEN_F1: usize = 16;
const SEN_L1: usize = same_out(SEN_L0, SEN_S1); // 64
const SEN_P1: usize = same_pad_before(SEN_L0, SEN_K1, SEN_S1); // 1 (and 2 after)
// MaxPooling1D 2 (strides 2, valid).
const SEN_L2: usize = valid_out(SEN_L1, 2, 2); // 32
// Conv1D 32, kernel 3, strides 1, valid.
const SEN_K2: usize = 3;
const SEN_F2: usize = 32;
const SEN_L3: usize = valid_out(SEN_L2, SEN_K2, 1); // 30
// Dense 8, linear.
const SEN_OUT: usize = 8;

/// The Sensor model with hand-written direct loops; build it with [`SensorHand::from_flat`].
pub struct SensorHand {
    /// Conv1D kernel `(k, c_in, filters)`.
    conv1_w: [[[f32; SEN_F1]; SEN_C0]; SEN_K1],
    conv1_b: [f32; SEN_F1],
    /// Conv1D kernel `(k, c_in, filters)`.
    conv2_w: [[[f32; SEN_F2]; SEN_F1]; SEN_K2],
    conv2_b: [f32; SEN_F2],
    /// Dense kernel `(in, out)`.
    dense_w: [[f32; SEN_OUT]; SEN_F2],
    dense_b: [f32; SEN_OUT],
}

impl SensorHand {
    /// Input values per sample: `128 · 6`, row-major `(steps, channels)`.
    pub const N_IN: usize = SEN_L0 * SEN_C0;
    /// Output values per sample: 8 (linear).
    pub const N_OUT: usize = SEN_OUT;
    /// Weights in all: 480 + 16 + 1536 + 32 + 256 + 8 = 2328.
    pub const N_WEIGHTS: usize =
        SEN_K1 * SEN_C0 * SEN_F1 + SEN_F1 + SEN_K2 * SEN_F1 * SEN_F2 + SEN_F2 + SEN_F2 * SEN_OUT + SEN_OUT;

    /// Loads every weight, concatenated in Keras's `model.weights` order (conv1 kernel, conv1
    /// bias, conv2 kernel, conv2 bias, dense kernel, dense bias), each flattened row-major.
    ///
    /// # Panics
    ///
    /// If `w` does not hold exactly [`SensorHand::N_WEIGHTS`] values.
    pub fn from_flat(w: &[f32]) -> Box<Self> {
        assert_eq!(w.len(), Self::N_WEIGHTS, "SensorHand::from_flat: wrong number of weights");
        let mut m = Box::new(SensorHand {
            conv1_w: [[[0.0; SEN_F1]; SEN_C0]; SEN_K1],
            conv1_b: [0.0; SEN_F1],
            conv2_w: [[[0.0; SEN_F2]; SEN_F1]; SEN_K2],
            conv2_b: [0.0; SEN_F2],
            dense_w: [[0.0; SEN_OUT]; SEN_F2],
            dense_b: [0.0; SEN_OUT],
        });
        let mut src = w;
        take(&mut src, m.conv1_w.as_flattened_mut().as_flattened_mut());
        take(&mut src, &mut m.conv1_b);
        take(&mut src, m.conv2_w.as_flattened_mut().as_flattened_mut());
        take(&mut src, &mut m.conv2_b);
        take(&mut src, m.dense_w.as_flattened_mut());
        take(&mut src, &mut m.dense_b);
        m
    }

    /// One sample: `x` row-major `(128, 6)` in, 8 linear outputs out.
    pub fn forward(&self, x: &[f32; Self::N_IN]) -> [f32; Self::N_OUT] {
        // Conv1D 16, kernel 5, strides 2, same (1 step of zeros before, 2 after), relu.
        let mut a1 = [[0.0f32; SEN_F1]; SEN_L1];
        for (ot, acc) in a1.iter_mut().enumerate() {
            *acc = self.conv1_b;
            for (k, w_k) in self.conv1_w.iter().enumerate() {
                // Step `ot · stride + k` of the input padded by SEN_P1 steps in front.
                let p = ot * SEN_S1 + k;
                if p < SEN_P1 || p - SEN_P1 >= SEN_L0 {
                    continue;
                }
                let t = p - SEN_P1;
                for (xv, w_ci) in x[t * SEN_C0..][..SEN_C0].iter().zip(w_k) {
                    for (a, w) in acc.iter_mut().zip(w_ci) {
                        *a += xv * w;
                    }
                }
            }
            for a in acc.iter_mut() {
                *a = a.max(0.0);
            }
        }

        // MaxPooling1D 2, strides 2, valid.
        let mut a2 = [[0.0f32; SEN_F1]; SEN_L2];
        for (ot, out) in a2.iter_mut().enumerate() {
            for ((o, a), b) in out.iter_mut().zip(&a1[2 * ot]).zip(&a1[2 * ot + 1]) {
                *o = a.max(*b);
            }
        }

        // Conv1D 32, kernel 3, valid, relu, summed over the steps for GlobalAveragePooling1D.
        let mut gap = [0.0f32; SEN_F2];
        for ot in 0..SEN_L3 {
            let mut acc = self.conv2_b;
            for (k, w_k) in self.conv2_w.iter().enumerate() {
                for (xv, w_ci) in a2[ot + k].iter().zip(w_k) {
                    for (a, w) in acc.iter_mut().zip(w_ci) {
                        *a += xv * w;
                    }
                }
            }
            for (g, a) in gap.iter_mut().zip(&acc) {
                *g += a.max(0.0);
            }
        }
        for g in &mut gap {
            *g /= SEN_L3 as f32;
        }

        // Dense 8, linear.
        let mut y = self.dense_b;
        for (g, row) in gap.iter().zip(&self.dense_w) {
            for (yj, w) in y.iter_mut().zip(row) {
                *yj += g * w;
            }
        }
        y
    }
}

// ---------------------------------------------------------------------------------------------
// Autoencoder
// ---------------------------------------------------------------------------------------------

// Input (h, w, c): an 8×8 digit. Every feature map is square: one size (`AE_H*`) per layer.
const AE_H0: usize = 8;
const AE_C0: usize = 1;
// Every layer's kernel is 3×3; the two encoder convolutions and the two transposed ones have
// strides 2.
const AE_K: usize = 3;
const AE_S: usize = 2;
// Conv2D 8, strides 2, same: 8×8 → 4×4 (no padding before, one row/column after).
const AE_F1: usize = 8;
const AE_H1: usize = same_out(AE_H0, AE_S); // 4
const AE_P1: usize = same_pad_before(AE_H0, AE_K, AE_S); // 0
// Conv2D 4, strides 2, same: 4×4 → 2×2 (no padding before, one after).
const AE_F2: usize = 4;
const AE_H2: usize = same_out(AE_H1, AE_S); // 2
const AE_P2: usize = same_pad_before(AE_H1, AE_K, AE_S); // 0
// Conv2DTranspose 16, strides 2, same: 2×2 → 4×4.
const AE_F3: usize = 16;
const AE_H3: usize = AE_H2 * AE_S; // 4
// Conv2DTranspose 8, strides 2, same: 4×4 → 8×8.
const AE_F4: usize = 8;
const AE_H4: usize = AE_H3 * AE_S; // 8
// Both transposed convolutions crop nothing from the start of the full spread.
const AE_CROP: usize = same_transpose_crop(AE_K, AE_S); // 0
// Conv2D 1, strides 1, same: 8×8 → 8×8 (one row/column of zeros on each side), sigmoid.
const AE_F5: usize = 1;
const AE_P5: usize = same_pad_before(AE_H4, AE_K, 1); // 1

/// What a "same" transposed convolution (Keras) crops from the start of its full spread
/// `(n − 1) · stride + k`, which it cuts to `n · stride`: `k − 1 − left_pad`, with
/// `pad_len = stride + k − 2` and `left_pad = min(⌈pad_len / 2⌉, k − 1)`.
const fn same_transpose_crop(k: usize, stride: usize) -> usize {
    let pad_len = stride + k - 2;
    let left_pad = pad_len / 2 + pad_len % 2;
    let left_pad = if left_pad < k - 1 { left_pad } else { k - 1 };
    k - 1 - left_pad
}

/// A Conv2D with a `K`×`K` kernel `w` in Keras's layout `(kh, kw, c_in, filters)`, the same
/// stride and padding before (`pad`) on both axes, then `act`: `x` is `(h, w, c)`, `y`
/// `(oh, ow, f)`. For every output pixel, the bias, then every tap inside the input times the
/// tap's row of filter weights (contiguous in `f`), as the KWS and Sensor loops do.
fn conv2d<
    const H: usize,
    const W: usize,
    const C: usize,
    const K: usize,
    const F: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &[[[f32; C]; W]; H],
    w: &[[[[f32; F]; C]; K]; K],
    b: &[f32; F],
    stride: usize,
    pad: usize,
    act: impl Fn(f32) -> f32,
    y: &mut [[[f32; F]; OW]; OH],
) {
    for (oy, row) in y.iter_mut().enumerate() {
        for (ox, acc) in row.iter_mut().enumerate() {
            *acc = *b;
            for (ky, w_ky) in w.iter().enumerate() {
                // Row `oy · stride + ky` of the input padded by `pad` rows on top.
                let py = oy * stride + ky;
                if py < pad || py - pad >= H {
                    continue;
                }
                let iy = py - pad;
                for (kx, w_kx) in w_ky.iter().enumerate() {
                    let px = ox * stride + kx;
                    if px < pad || px - pad >= W {
                        continue;
                    }
                    let ix = px - pad;
                    for (xv, w_ci) in x[iy][ix].iter().zip(w_kx) {
                        for (a, w) in acc.iter_mut().zip(w_ci) {
                            *a += xv * w;
                        }
                    }
                }
            }
            for a in acc.iter_mut() {
                *a = act(*a);
            }
        }
    }
}

/// A Conv2DTranspose with a `K`×`K` kernel `w` in Keras's layout `(kh, kw, filters, c_in)`,
/// the same stride and crop on both axes, then `act`: `x` is `(h, w, c)`, `y` `(oh, ow, f)`.
/// Every output pixel starts from the bias; then every input pixel `(iy, ix)`, through tap
/// `(ky, kx)`, adds `Σ_c x[c] · w[ky][kx][f][c]` (contiguous in `c`) to output pixel
/// `(iy · stride + ky − crop, ix · stride + kx − crop)` when that is inside the output.
fn conv2d_transpose<
    const H: usize,
    const W: usize,
    const C: usize,
    const K: usize,
    const F: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &[[[f32; C]; W]; H],
    w: &[[[[f32; C]; F]; K]; K],
    b: &[f32; F],
    stride: usize,
    crop: usize,
    act: impl Fn(f32) -> f32,
    y: &mut [[[f32; F]; OW]; OH],
) {
    for px in y.as_flattened_mut() {
        *px = *b;
    }
    for (iy, x_row) in x.iter().enumerate() {
        for (ix, xs) in x_row.iter().enumerate() {
            for (ky, w_ky) in w.iter().enumerate() {
                let py = iy * stride + ky;
                if py < crop || py - crop >= OH {
                    continue;
                }
                let oy = py - crop;
                for (kx, w_kx) in w_ky.iter().enumerate() {
                    let px = ix * stride + kx;
                    if px < crop || px - crop >= OW {
                        continue;
                    }
                    let ox = px - crop;
                    for (o, w_f) in y[oy][ox].iter_mut().zip(w_kx) {
                        let mut dot = 0.0;
                        for (xv, w) in xs.iter().zip(w_f) {
                            dot += xv * w;
                        }
                        *o += dot;
                    }
                }
            }
        }
    }
    for v in y.as_flattened_mut().as_flattened_mut() {
        *v = act(*v);
    }
}

/// A Dense layer then softmax (max subtracted): the two classifier heads' last step.
fn dense_softmax<const I: usize, const O: usize>(x: &[f32; I], w: &[[f32; O]; I], b: &[f32; O]) -> [f32; O] {
    let mut y = *b;
    for (xi, row) in x.iter().zip(w) {
        for (yj, wv) in y.iter_mut().zip(row) {
            *yj += xi * wv;
        }
    }
    let max = y.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in &mut y {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in &mut y {
        *v /= sum;
    }
    y
}

fn relu(v: f32) -> f32 {
    v.max(0.0)
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// The autoencoder with hand-written direct loops; build it with [`AutoencoderHand::from_flat`].
pub struct AutoencoderHand {
    /// Conv2D kernel `(kh, kw, c_in, filters)`.
    conv1_w: [[[[f32; AE_F1]; AE_C0]; AE_K]; AE_K],
    conv1_b: [f32; AE_F1],
    /// Conv2D kernel `(kh, kw, c_in, filters)`.
    conv2_w: [[[[f32; AE_F2]; AE_F1]; AE_K]; AE_K],
    conv2_b: [f32; AE_F2],
    /// Conv2DTranspose kernel `(kh, kw, filters, c_in)`.
    deconv1_w: [[[[f32; AE_F2]; AE_F3]; AE_K]; AE_K],
    deconv1_b: [f32; AE_F3],
    /// Conv2DTranspose kernel `(kh, kw, filters, c_in)`.
    deconv2_w: [[[[f32; AE_F3]; AE_F4]; AE_K]; AE_K],
    deconv2_b: [f32; AE_F4],
    /// Conv2D kernel `(kh, kw, c_in, filters)`.
    conv3_w: [[[[f32; AE_F5]; AE_F4]; AE_K]; AE_K],
    conv3_b: [f32; AE_F5],
}

impl AutoencoderHand {
    /// Input values per sample: `8 · 8 · 1`, row-major `(h, w, c)`.
    pub const N_IN: usize = AE_H0 * AE_H0 * AE_C0;
    /// Output values per sample: `8 · 8 · 1`, row-major `(h, w, c)`, each in (0, 1).
    pub const N_OUT: usize = AE_H4 * AE_H4 * AE_F5;
    /// Weights in all: 72 + 8 + 288 + 4 + 576 + 16 + 1152 + 8 + 72 + 1 = 2197.
    pub const N_WEIGHTS: usize =
        AE_K * AE_K * (AE_C0 * AE_F1 + AE_F1 * AE_F2 + AE_F3 * AE_F2 + AE_F4 * AE_F3 + AE_F4 * AE_F5)
            + AE_F1
            + AE_F2
            + AE_F3
            + AE_F4
            + AE_F5;

    /// Loads every weight, concatenated in Keras's `model.weights` order (each layer's kernel,
    /// then its bias, layer after layer), each flattened row-major.
    ///
    /// # Panics
    ///
    /// If `w` does not hold exactly [`AutoencoderHand::N_WEIGHTS`] values.
    pub fn from_flat(w: &[f32]) -> Box<Self> {
        assert_eq!(w.len(), Self::N_WEIGHTS, "AutoencoderHand::from_flat: wrong number of weights");
        let mut m = Box::new(AutoencoderHand {
            conv1_w: [[[[0.0; AE_F1]; AE_C0]; AE_K]; AE_K],
            conv1_b: [0.0; AE_F1],
            conv2_w: [[[[0.0; AE_F2]; AE_F1]; AE_K]; AE_K],
            conv2_b: [0.0; AE_F2],
            deconv1_w: [[[[0.0; AE_F2]; AE_F3]; AE_K]; AE_K],
            deconv1_b: [0.0; AE_F3],
            deconv2_w: [[[[0.0; AE_F3]; AE_F4]; AE_K]; AE_K],
            deconv2_b: [0.0; AE_F4],
            conv3_w: [[[[0.0; AE_F5]; AE_F4]; AE_K]; AE_K],
            conv3_b: [0.0; AE_F5],
        });
        let mut src = w;
        take(&mut src, m.conv1_w.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        take(&mut src, &mut m.conv1_b);
        take(&mut src, m.conv2_w.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        take(&mut src, &mut m.conv2_b);
        take(&mut src, m.deconv1_w.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        take(&mut src, &mut m.deconv1_b);
        take(&mut src, m.deconv2_w.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        take(&mut src, &mut m.deconv2_b);
        take(&mut src, m.conv3_w.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        take(&mut src, &mut m.conv3_b);
        m
    }

    /// One sample: `x` row-major `(8, 8, 1)` in, its reconstruction `(8, 8, 1)` out.
    pub fn forward(&self, x: &[f32; Self::N_IN]) -> [f32; Self::N_OUT] {
        // The flat input and output seen as `(h, w, c)` arrays, without copies.
        let (pixels, _) = x.as_chunks::<AE_C0>();
        let (rows, _) = pixels.as_chunks::<AE_H0>();
        let x: &[[[f32; AE_C0]; AE_H0]; AE_H0] = rows.try_into().expect("8 rows of 8 pixels");

        let mut a1 = [[[0.0f32; AE_F1]; AE_H1]; AE_H1];
        conv2d(x, &self.conv1_w, &self.conv1_b, AE_S, AE_P1, relu, &mut a1);
        let mut a2 = [[[0.0f32; AE_F2]; AE_H2]; AE_H2];
        conv2d(&a1, &self.conv2_w, &self.conv2_b, AE_S, AE_P2, relu, &mut a2);
        let mut a3 = [[[0.0f32; AE_F3]; AE_H3]; AE_H3];
        conv2d_transpose(&a2, &self.deconv1_w, &self.deconv1_b, AE_S, AE_CROP, relu, &mut a3);
        let mut a4 = [[[0.0f32; AE_F4]; AE_H4]; AE_H4];
        conv2d_transpose(&a3, &self.deconv2_w, &self.deconv2_b, AE_S, AE_CROP, relu, &mut a4);

        let mut y = [0.0f32; Self::N_OUT];
        let (pixels, _) = y.as_chunks_mut::<AE_F5>();
        let (rows, _) = pixels.as_chunks_mut::<AE_H4>();
        let out: &mut [[[f32; AE_F5]; AE_H4]; AE_H4] = rows.try_into().expect("8 rows of 8 pixels");
        conv2d(&a4, &self.conv3_w, &self.conv3_b, 1, AE_P5, sigmoid, out);
        y
    }
}

// ---------------------------------------------------------------------------------------------
// Volume
// ---------------------------------------------------------------------------------------------

// Input (depth, height, width, channels).
const VOL_D0: usize = 8;
const VOL_H0: usize = 16;
const VOL_W0: usize = 16;
const VOL_C0: usize = 1;
// Conv3D 8, 3×3×3, same (one slice, row and column of zeros on each side), relu.
const VOL_F1: usize = 8;
// MaxPooling3D 2.
const VOL_D2: usize = VOL_D0 / 2;
const VOL_H2: usize = VOL_H0 / 2;
const VOL_W2: usize = VOL_W0 / 2;
// Conv3D 16, 3×3×3, same, relu, then GlobalAveragePooling3D.
const VOL_F2: usize = 16;
// Dense 4, softmax.
const VOL_OUT: usize = 4;

/// A 3×3×3 `same` convolution (stride 1) of a `D × H × W × C` volume into `F` filters, relu,
/// each output pixel handed to `out(z, y, x, values)`: the direct loop over taps inside the
/// volume, input channels and filters.
fn conv3d_same<const D: usize, const H: usize, const W: usize, const C: usize, const F: usize>(
    x: &[[[[f32; C]; W]; H]; D],
    w: &[[[[[f32; F]; C]; 3]; 3]; 3],
    b: &[f32; F],
    mut out: impl FnMut(usize, usize, usize, [f32; F]),
) {
    for z in 0..D {
        for y in 0..H {
            for xo in 0..W {
                let mut acc = *b;
                for (kz, w_kz) in w.iter().enumerate() {
                    let Some(iz) = (z + kz).checked_sub(1).filter(|&iz| iz < D) else { continue };
                    for (ky, w_ky) in w_kz.iter().enumerate() {
                        let Some(iy) = (y + ky).checked_sub(1).filter(|&iy| iy < H) else { continue };
                        for (kx, w_kx) in w_ky.iter().enumerate() {
                            let Some(ix) = (xo + kx).checked_sub(1).filter(|&ix| ix < W) else { continue };
                            for (xv, w_ci) in x[iz][iy][ix].iter().zip(w_kx) {
                                for (a, wv) in acc.iter_mut().zip(w_ci) {
                                    *a += xv * wv;
                                }
                            }
                        }
                    }
                }
                out(z, y, xo, acc.map(relu));
            }
        }
    }
}

/// The volume model with hand-written direct loops; build it with [`VolumeHand::from_flat`].
pub struct VolumeHand {
    /// Conv3D kernel `(kd, kh, kw, c_in, filters)`.
    conv1_w: [[[[[f32; VOL_F1]; VOL_C0]; 3]; 3]; 3],
    conv1_b: [f32; VOL_F1],
    conv2_w: [[[[[f32; VOL_F2]; VOL_F1]; 3]; 3]; 3],
    conv2_b: [f32; VOL_F2],
    /// Dense kernel `(in, out)`.
    dense_w: [[f32; VOL_OUT]; VOL_F2],
    dense_b: [f32; VOL_OUT],
}

impl VolumeHand {
    /// Input values per sample: `8 · 16 · 16 · 1`, row-major `(d, h, w, c)`.
    pub const N_IN: usize = VOL_D0 * VOL_H0 * VOL_W0 * VOL_C0;
    /// Output values per sample: 4 class probabilities.
    pub const N_OUT: usize = VOL_OUT;
    /// Weights in all: 216 + 8 + 3456 + 16 + 64 + 4 = 3764.
    pub const N_WEIGHTS: usize =
        27 * VOL_C0 * VOL_F1 + VOL_F1 + 27 * VOL_F1 * VOL_F2 + VOL_F2 + VOL_F2 * VOL_OUT + VOL_OUT;

    /// Loads every weight, concatenated in Keras's `model.weights` order, each flattened
    /// row-major.
    ///
    /// # Panics
    ///
    /// If `w` does not hold exactly [`VolumeHand::N_WEIGHTS`] values.
    pub fn from_flat(w: &[f32]) -> Box<Self> {
        assert_eq!(w.len(), Self::N_WEIGHTS, "VolumeHand::from_flat: wrong number of weights");
        let mut m = Box::new(VolumeHand {
            conv1_w: [[[[[0.0; VOL_F1]; VOL_C0]; 3]; 3]; 3],
            conv1_b: [0.0; VOL_F1],
            conv2_w: [[[[[0.0; VOL_F2]; VOL_F1]; 3]; 3]; 3],
            conv2_b: [0.0; VOL_F2],
            dense_w: [[0.0; VOL_OUT]; VOL_F2],
            dense_b: [0.0; VOL_OUT],
        });
        let mut src = w;
        take(&mut src, m.conv1_w.as_flattened_mut().as_flattened_mut().as_flattened_mut().as_flattened_mut());
        take(&mut src, &mut m.conv1_b);
        take(&mut src, m.conv2_w.as_flattened_mut().as_flattened_mut().as_flattened_mut().as_flattened_mut());
        take(&mut src, &mut m.conv2_b);
        take(&mut src, m.dense_w.as_flattened_mut());
        take(&mut src, &mut m.dense_b);
        m
    }

    /// One sample: `x` row-major `(8, 16, 16, 1)` in, 4 softmax probabilities out.
    pub fn forward(&self, x: &[f32; Self::N_IN]) -> [f32; Self::N_OUT] {
        let mut x0 = [[[[0.0f32; VOL_C0]; VOL_W0]; VOL_H0]; VOL_D0];
        x0.as_flattened_mut().as_flattened_mut().as_flattened_mut().copy_from_slice(x);
        // Conv3D 8 same relu, pooled as it goes: MaxPooling3D 2 takes the largest of each 2×2×2
        // block (every value is at least 0 after relu, so the pool starts from 0).
        let mut a2 = [[[[0.0f32; VOL_F1]; VOL_W2]; VOL_H2]; VOL_D2];
        conv3d_same(&x0, &self.conv1_w, &self.conv1_b, |z, y, xo, v| {
            let cell = &mut a2[z / 2][y / 2][xo / 2];
            for (c, v) in cell.iter_mut().zip(v) {
                *c = c.max(v);
            }
        });
        // Conv3D 16 same relu, summed for GlobalAveragePooling3D.
        let mut gap = [0.0f32; VOL_F2];
        conv3d_same(&a2, &self.conv2_w, &self.conv2_b, |_, _, _, v| {
            for (g, v) in gap.iter_mut().zip(v) {
                *g += v;
            }
        });
        for g in &mut gap {
            *g /= (VOL_D2 * VOL_H2 * VOL_W2) as f32;
        }
        // Dense 4, softmax (max subtracted).
        dense_softmax(&gap, &self.dense_w, &self.dense_b)
    }
}
