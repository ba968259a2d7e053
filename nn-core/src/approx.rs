//! Branch-free approximations of `exp` and `tanh` for `f32`, written so the compiler vectorizes
//! a loop over them (a call into libm per element does not vectorize). Accurate to a few ulp:
//! well inside the 1e-6 that the Keras parity tests allow.
//!
//! Coefficients keep the digits their sources print (Cephes `expf`, Eigen's
//! `generic_fast_tanh_float`), more than an `f32` holds.
#![allow(clippy::excessive_precision)]

// The constants, shared with the SIMD gate kernels (`kernels::x86`) so that both compute the
// same approximation.

/// `exp_f32`'s argument bounds: below the lower `e^x` is zero, above the upper infinite.
pub(crate) const EXP_CLAMP: (f32, f32) = (-104.0, 88.8);
/// ln 2 split so that `n * LN2.0` is exact.
pub(crate) const LN2: (f32, f32) = (0.693_359_4, -2.121_944_4e-4);
/// Adding and subtracting 1.5 · 2^23 rounds to an integer without `f32::round` (not in `core`).
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

/// `e^x` for `f32`: Cephes's `expf` reduction and polynomial, with the power of two applied in
/// two halves so that neither overflows early nor flushes to zero early. `x` above 88.72 gives
/// infinity, below -103.97 zero, as `f32::exp` does.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    let clamped = x.clamp(EXP_CLAMP.0, EXP_CLAMP.1);
    let n = (clamped * LOG2E + ROUND) - ROUND;
    let r = clamped - n * LN2.0 - n * LN2.1;
    let mut p = EXP_POLY[0];
    for k in &EXP_POLY[1..] {
        p = p * r + k;
    }
    let e = p * r * r + r + 1.0;
    let n = n as i32;
    let half = n >> 1;
    let scale = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    let y = e * scale(half) * scale(n - half);
    if x > 88.722_84 {
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
