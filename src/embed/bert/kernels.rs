//! The encoder's element-wise steps on plain `f32` slices: exact GELU, the
//! masked softmax of the attention scores, layer norm, bias and residual
//! additions.
//!
//! Written by hand because candle's CPU versions call the scalar `libm`
//! `erff` and `expf` once per element: profiled on 300 MMLU-Pro questions
//! (one thread), erf took 21 % and exp 9 % of the whole forward pass, next to
//! 41 % in the matrix products. No maintained crate offers an `f32`
//! exp/erf that the compiler can inline and vectorise on stable Rust (sleef
//! bindings need nightly `portable_simd`). The functions below are
//! branch-free, so the loops vectorise with the baseline SSE2 / NEON
//! instructions, and follow the same approximations as PyTorch's vectorised
//! CPU kernels:
//!
//! * `exp`: Cephes' `expf` (range reduction by ln 2 in two parts, a degree-6
//!   polynomial; about 1 ulp);
//! * `erf`: Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), as in
//!   PyTorch's `Vectorized<float>::erf`.

/// `e^x` for `f32`, about 1 ulp over the range where the result is a
/// normal float; inputs below −87.3 give ~0, above 88.7 saturate.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that n·LN2_HI is exact for |n| < 2^9.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2^23 rounds to the nearest integer with plain f32
    // arithmetic (no `round` call, which SSE2 lacks).
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.7);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    // 2^n from n's bits in t's mantissa (t = 1.5·2^23 + n).
    let n = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let scale = f32::from_bits(((n + 127) as u32) << 23);
    er * scale
}

/// `erf(x)` for `f32` (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
#[inline(always)]
fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A1: f32 = 0.254_829_6;
    const A2: f32 = -0.284_496_74;
    const A3: f32 = 1.421_413_8;
    const A4: f32 = -1.453_152;
    const A5: f32 = 1.061_405_4;
    let a = x.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t;
    (1.0 - poly * exp(-a * a)).copysign(x)
}

/// Exact (erf) GELU in place: `x · ½ · (1 + erf(x / √2))`, as Hugging Face
/// BERT's `"gelu"` activation.
pub(crate) fn gelu_erf(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { avx2::gelu_erf(xs) };
    }
    gelu_erf_any(xs)
}

/// Softmax in place over each row of `len` scores, where only the first
/// `valid` keys are real tokens (the rest is padding and gets probability 0,
/// as an additive −∞ mask would give).
pub(crate) fn masked_softmax_rows(scores: &mut [f32], len: usize, valid: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { avx2::masked_softmax_rows(scores, len, valid) };
    }
    masked_softmax_rows_any(scores, len, valid)
}

/// `y[i] += x[i]` (a residual connection, or summing rows).
pub(crate) fn add(ys: &mut [f32], xs: &[f32]) {
    ys.iter_mut().zip(xs).for_each(|(y, x)| *y += x);
}

/// Adds `bias` to every row of `ys` (rows of `bias.len()` values).
pub(crate) fn add_row_bias(ys: &mut [f32], bias: &[f32]) {
    for row in ys.chunks_exact_mut(bias.len()) {
        add(row, bias);
    }
}

/// Layer norm in place over rows of `gamma.len()` values: `(x − mean) /
/// √(var + eps) · gamma + beta`, with the biased variance, as PyTorch.
pub(crate) fn layer_norm_rows(xs: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { avx2::layer_norm_rows(xs, gamma, beta, eps) };
    }
    layer_norm_rows_any(xs, gamma, beta, eps)
}

#[inline(always)]
fn layer_norm_rows_any(xs: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = gamma.len();
    for row in xs.chunks_exact_mut(n) {
        let mean = lane_sum(row) / n as f32;
        row.iter_mut().for_each(|x| *x -= mean);
        let var = lane_sum_squares(row) / n as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((x, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *x = *x * inv * g + b;
        }
    }
}

/// The same kernels compiled for AVX2 (8 lanes instead of SSE2's 4), chosen
/// at run time.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn gelu_erf(xs: &mut [f32]) {
        super::gelu_erf_any(xs)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn layer_norm_rows(xs: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        super::layer_norm_rows_any(xs, gamma, beta, eps)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn masked_softmax_rows(scores: &mut [f32], len: usize, valid: usize) {
        super::masked_softmax_rows_any(scores, len, valid)
    }
}

#[inline(always)]
fn gelu_erf_any(xs: &mut [f32]) {
    const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
    for x in xs.iter_mut() {
        *x = 0.5 * *x * (1.0 + erf(*x * FRAC_1_SQRT_2));
    }
}

/// Lanes of the reductions below: independent accumulators let the
/// compiler vectorise a sum or a maximum (it may not reorder one chain).
const LANES: usize = 16;

#[inline(always)]
fn lane_max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = a.max(x);
        }
    }
    rest.iter()
        .chain(&acc)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max)
}

#[inline(always)]
fn lane_sum(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

#[inline(always)]
fn lane_sum_squares(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x * x;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().map(|x| x * x).sum::<f32>()
}

#[inline(always)]
fn masked_softmax_rows_any(scores: &mut [f32], len: usize, valid: usize) {
    let valid = valid.min(len);
    for row in scores.chunks_exact_mut(len) {
        let (keys, pad) = row.split_at_mut(valid);
        let max = lane_max(keys);
        keys.iter_mut().for_each(|x| *x = exp(*x - max));
        let inv = 1.0 / lane_sum(keys);
        keys.iter_mut().for_each(|x| *x *= inv);
        pad.fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units in the last place between two finite floats of the same sign.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_is_within_two_ulps_of_libm() {
        let mut worst = 0;
        for i in -87_000..88_000 {
            let x = i as f32 / 1000.0 + 0.000_37;
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        assert!(worst <= 2, "worst {worst} ulps");
        assert!(exp(-200.0) < 1e-37);
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn erf_is_within_the_approximation_bound() {
        // Reference values of erf (Abramowitz & Stegun, table 7.1).
        let table: [(f32, f64); 6] = [
            (0.1, 0.112_462_916),
            (0.5, 0.520_499_876),
            (1.0, 0.842_700_793),
            (1.5, 0.966_105_146),
            (2.0, 0.995_322_265),
            (3.0, 0.999_977_910),
        ];
        for (x, want) in table {
            assert!((f64::from(erf(x)) - want).abs() < 2e-7, "erf({x})");
            assert!((f64::from(erf(-x)) + want).abs() < 2e-7, "erf(-{x})");
        }
        assert_eq!(erf(0.0), 0.0);
        assert!((erf(10.0) - 1.0).abs() < 1e-7);
    }

    #[test]
    fn gelu_matches_its_definition() {
        let mut xs = [-3.0, -1.0, -0.1, 0.0, 0.5, 2.0, 6.0];
        let want: Vec<f32> = xs
            .iter()
            .map(|&x: &f32| {
                // erf from its Maclaurin series in f64 (converges for |x| ≤ 6/√2).
                let z = f64::from(x) / std::f64::consts::SQRT_2;
                let (mut term, mut sum) = (z, z);
                for n in 1..200 {
                    term *= -z * z / n as f64;
                    sum += term / (2 * n + 1) as f64;
                }
                let erf = sum * 2.0 / std::f64::consts::PI.sqrt();
                (0.5 * f64::from(x) * (1.0 + erf)) as f32
            })
            .collect();
        gelu_erf(&mut xs);
        for (got, want) in xs.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn layer_norm_normalises_each_row() {
        let mut xs = vec![1.0, 2.0, 3.0, 4.0, -5.0, 0.0, 5.0, 10.0];
        layer_norm_rows(&mut xs, &[1.0, 1.0, 2.0, 1.0], &[0.0, 0.5, 0.0, 0.0], 1e-12);
        // Row 1: mean 2.5, biased variance 1.25.
        let sd = 1.25f32.sqrt();
        let want = [-1.5 / sd, -0.5 / sd + 0.5, 2.0 * 0.5 / sd, 1.5 / sd];
        for (got, want) in xs[..4].iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        // Row 2: mean 2.5, variance (56.25 + 6.25 + 6.25 + 56.25) / 4.
        let sd = (125.0f32 / 4.0).sqrt();
        assert!((xs[4] + 7.5 / sd).abs() < 1e-6);
        assert!((xs[7] - 7.5 / sd).abs() < 1e-6);
    }

    #[test]
    fn bias_goes_to_every_row() {
        let mut ys = vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        add_row_bias(&mut ys, &[10.0, 20.0, 30.0]);
        assert_eq!(ys, [10.0, 21.0, 32.0, 13.0, 24.0, 35.0]);
    }

    #[test]
    fn masked_softmax_ignores_padding_and_sums_to_one() {
        let mut s = vec![1.0, 2.0, 3.0, 100.0, 0.5, 0.5, 0.5, -7.0];
        masked_softmax_rows(&mut s, 4, 3);
        let e: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|x| (x - 3.0).exp()).collect();
        let total: f64 = e.iter().sum();
        for (got, want) in s[..3].iter().zip(&e) {
            assert!((f64::from(*got) - want / total).abs() < 1e-6);
        }
        assert_eq!(s[3], 0.0);
        assert!((s[4] - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(s[7], 0.0);
    }
}
