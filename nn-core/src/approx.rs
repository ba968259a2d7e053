//! Branch-free approximations of `exp` and `tanh` for `f32`, written so the compiler vectorizes
//! a loop over them (a call into libm per element does not vectorize). Accurate to a few ulp:
//! well inside the 1e-6 that the Keras parity tests allow.
//!
//! Coefficients keep the digits their sources print (Cephes `expf`, Eigen's
//! `generic_fast_tanh_float`), more than an `f32` holds.
#![allow(clippy::excessive_precision)]

// `tanh`'s constants, and the sigmoid's derived from them, are shared with the SIMD gate
// kernels (`kernels::x86`) so that both compute the same approximation; `exp`'s are its own.

/// `exp_f32`'s argument bounds: below the lower `e^x` is zero, above the upper infinite.
pub(crate) const EXP_CLAMP: (f32, f32) = (-104.0, 88.8);
/// ln 2 split so that `n * LN2.0` is exact.
pub(crate) const LN2: (f32, f32) = (0.693_359_4, -2.121_944_4e-4);
/// Adding and subtracting 1.5 · 2^23 rounds to an integer without `f32::round` (not in `core`).
/// Above this, `e^x` is infinite in `f32`.
pub(crate) const EXP_OVERFLOW: f32 = 88.722_84;
pub(crate) const ROUND: f32 = 12_582_912.0;
/// Cephes's polynomial for `(e^r - 1 - r) / r^2`, highest degree first.
pub(crate) const EXP_POLY: [f32; 6] =
    [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1];
/// `tanh_f32`'s clamp: `tanh` is ±1 in `f32` beyond.
pub(crate) const TANH_CLAMP: f32 = 7.905_311;
/// Below this `|x|`, `x` itself is tanh to within rounding and keeps its exact value.
pub(crate) const TANH_LINEAR: f32 = 4e-4;
/// The numerator's polynomial in `x^2` (times `x`), highest degree first.
pub(crate) const TANH_P: [f32; 7] = [
    -2.760_768_5e-16,
    2.000_187_9e-13,
    -8.604_671_5e-11,
    5.122_297e-8,
    1.485_722_4e-5,
    6.372_619_3e-4,
    4.893_524_6e-3,
];
/// The denominator's polynomial in `x^2`, highest degree first.
pub(crate) const TANH_Q: [f32; 4] = [1.198_258_4e-6, 1.185_347e-4, 2.268_434_6e-3, 4.893_525e-3];

/// `tanh_f32`'s numerator `x · P(x²)` as one polynomial in `x` (even terms zero), highest
/// degree first. The kernels evaluate it so: as deep as `P(x²)` alone, one multiply shorter.
pub(crate) const TANH_NUMERATOR: [f32; 14] = odd_in_x(TANH_P);

/// `σ(x) = 1/2 + tanh(x/2)/2` as `tanh_f32`'s rational, its halvings folded into the
/// coefficients (powers of two, so exactly): `(x · P(x²/4)/4 + Q(x²/4)/2) / Q(x²/4)` for
/// `|x| <= SIGMOID_CLAMP`. The gate kernels use it: it is half the latency of `1 / (1 + e^-x)`
/// (no range reduction, no power of two), and a gate's error counts in absolute terms, where
/// this one is within 2.5e-7 of the exact sigmoid (as `tanh_f32` is within 4e-7 of `tanh`). It
/// loses relative accuracy below σ ≈ 1e-6, which a gate multiplying a bounded value does not
/// see, so the `sigmoid` activation keeps `1 / (1 + e^-x)`.
pub(crate) const SIGMOID_CLAMP: f32 = 2.0 * TANH_CLAMP;
/// [`SIGMOID_CLAMP`]'s `P(x²/4)/4`, highest degree first.
pub(crate) const SIGMOID_P: [f32; 7] = scaled(TANH_P, 0.25, 0.25);
/// Its `Q(x²/4)`, highest degree first.
pub(crate) const SIGMOID_Q: [f32; 4] = scaled(TANH_Q, 1.0, 0.25);

/// `k[i] · first · per^degree(i)` for a polynomial listed highest degree first. `first` and
/// `per` are powers of two, so each product is exact.
const fn scaled<const N: usize>(k: [f32; N], first: f32, per: f32) -> [f32; N] {
    let mut out = k;
    let mut factor = first;
    let mut i = N;
    while i > 0 {
        i -= 1;
        out[i] = k[i] * factor;
        factor *= per;
    }
    out
}

/// `x · p(x²)` as one polynomial in `x`, both listed highest degree first.
const fn odd_in_x(p: [f32; 7]) -> [f32; 14] {
    let mut out = [0.0; 14];
    let mut k = 0;
    while k < 7 {
        out[2 * k] = p[k];
        k += 1;
    }
    out
}

/// `e^x` for `f32`: Cephes's `expf` reduction and polynomial, with the power of two applied in
/// two halves so that neither overflows early nor flushes to zero early. `x` above 88.72 gives
/// infinity, below -103.97 zero, as `f32::exp` does.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    let clamped = x.clamp(EXP_CLAMP.0, EXP_CLAMP.1);
    let shifted = clamped * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = clamped - n * LN2.0 - n * LN2.1;
    let mut p = EXP_POLY[0];
    for k in &EXP_POLY[1..] {
        p = p * r + k;
    }
    let e = p * r * r + r + 1.0;
    // `shifted` lies in [2^23, 2^24), where the ulp is 1: its low mantissa bits hold `n` as an
    // integer. Read from there, not through `n as i32`, whose saturation LLVM does not
    // vectorize (a softmax spent most of its time converting lane by lane). NaN gives a
    // meaningless `n`, discarded below; the arithmetic wraps rather than panics on it.
    let n = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let half = n >> 1;
    let scale = |k: i32| f32::from_bits((k.wrapping_add(127) as u32) << 23);
    let y = e * scale(half) * scale(n.wrapping_sub(half));
    if x > EXP_OVERFLOW {
        f32::INFINITY
    } else if x.is_nan() {
        x
    } else {
        y
    }
}

/// `tanh(x)` for `f32`: the odd rational minimax approximation Eigen uses
/// (`generic_fast_tanh_float`), degree 13/6 on `|x| <= 7.9`, where `tanh` is ±1 in `f32` beyond.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let x = x.clamp(-TANH_CLAMP, TANH_CLAMP);
    let x2 = x * x;
    let mut p = TANH_P[0];
    for k in &TANH_P[1..] {
        p = p * x2 + k;
    }
    let p = p * x;
    let mut q = TANH_Q[0];
    for k in &TANH_Q[1..] {
        q = q * x2 + k;
    }
    if x.abs() < TANH_LINEAR { x } else { p / q }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_is_within_a_few_ulp_of_libm_everywhere() {
        let mut worst = 0;
        let mut x = -103.0f32;
        while x < 88.7 {
            let (got, want) = (exp_f32(x), libm::expf(x));
            if want > f32::MIN_POSITIVE {
                worst = worst.max(ulps(got, want));
            } else {
                assert!(got.abs() <= 2.0 * f32::MIN_POSITIVE, "exp({x}) = {got}");
            }
            x += 0.001_37;
        }
        assert!(worst <= 3, "worst {worst} ulp");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert_eq!(exp_f32(-200.0), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn tanh_keeps_relative_accuracy_near_zero_and_saturates() {
        let mut worst = 0.0f32;
        let mut x = -12.0f32;
        while x < 12.0 {
            let (got, want) = (tanh_f32(x), libm::tanhf(x));
            worst = worst.max((got - want).abs() / want.abs().max(1e-30));
            x += 0.000_73;
        }
        assert!(worst < 1e-6, "worst relative error {worst:e}");
        std::println!("tanh: worst relative error {worst:e}");
        assert_eq!(tanh_f32(1e-7), 1e-7);
        assert_eq!(tanh_f32(20.0), 1.0);
        assert_eq!(tanh_f32(-20.0), -1.0);
    }
}
