//! The f32 kernels of the hot path: sum of squares and dot products.
//!
//! Floating-point addition is not associative, so LLVM never reorders a
//! plain `sum += a[i] * b[i]` loop into SIMD lanes on its own: the loop stays
//! one long dependency chain (one add per add-latency, ~4 cycles). Here every
//! kernel keeps `L` independent accumulators and walks the input in chunks of
//! `L`: lane `j` only ever adds products of elements `j, j + L, j + 2L, …`,
//! which is exactly what a vector register does, so LLVM maps the
//! accumulator array onto SIMD registers with no `target-cpu` flag and no
//! `unsafe`: with `L = 16`, four 128-bit registers (SSE2 on baseline x86-64,
//! NEON on aarch64), enough independent chains to hide the add latency. The
//! lanes are summed pairwise at the end (a little more accurate than a
//! serial sum, too). A tail shorter than `L` goes through one 8-lane chunk
//! loop, then at most 7 scalar steps.
//!
//! On aarch64 the multiply-add is written `mul_add`, which is a single fused
//! `fmla` there (FMA is part of the base ISA); on baseline x86-64 `mul_add`
//! would be a libm call, so it is `acc + x * y`. On x86-64 machines that have
//! AVX2 and FMA (detected at run time by the router, never assumed), the
//! same code is compiled a second time inside a `#[target_feature]` function
//! with `L = 64` (eight 256-bit FMA chains).

/// Lanes of the portable kernel (four 128-bit vectors of f32).
pub(crate) const LANES: usize = 16;

/// Whether the portable kernel fuses multiply-adds (a single instruction on
/// aarch64; a slow libm call on x86-64 without the `fma` feature).
pub(crate) const PORTABLE_FMA: bool = cfg!(target_arch = "aarch64");

#[inline(always)]
fn madd<const FMA: bool>(acc: f32, x: f32, y: f32) -> f32 {
    if FMA {
        x.mul_add(y, acc)
    } else {
        acc + x * y
    }
}

/// Pairwise sum of the lanes (`L` is a power of two).
#[inline(always)]
fn hsum<const L: usize>(acc: &[f32; L]) -> f32 {
    let mut v = *acc;
    let mut w = L;
    while w > 1 {
        w /= 2;
        for i in 0..w {
            v[i] += v[i + w];
        }
    }
    v[0]
}

/// Dot product of two equally long vectors with `L` accumulators (see the
/// module doc).
#[inline(always)]
pub(crate) fn dot_lanes<const L: usize, const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; L];
    let ca = a.chunks_exact(L);
    let cb = b.chunks_exact(L);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..L {
            acc[j] = madd::<FMA>(acc[j], x[j], y[j]);
        }
    }
    let mut acc8 = [0.0f32; 8];
    let ca = ra.chunks_exact(8);
    let cb = rb.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc8[j] = madd::<FMA>(acc8[j], x[j], y[j]);
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail = madd::<FMA>(tail, *x, *y);
    }
    hsum(&acc) + (hsum(&acc8) + tail)
}

/// The portable dot product.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_lanes::<LANES, PORTABLE_FMA>(a, b)
}

/// Sum of the squares of `v`, in one vectorised pass.
///
/// It doubles as the finiteness check: the result is finite exactly when
/// every component is finite, except on overflow (components around
/// `1e19` and above), which the caller tells apart on its slow path.
#[inline]
pub(crate) fn sum_squares(v: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for j in 0..LANES {
            acc[j] += c[j] * c[j];
        }
    }
    let mut tail = 0.0f32;
    for x in rest {
        tail += x * x;
    }
    hsum(&acc) + tail
}

/// Dot product in f64, for the rare query whose squared norm over- or
/// underflows f32 (components beyond ~1e19, or a norm below 1e-10).
pub(crate) fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_naive() {
        for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 33, 63, 64, 65, 127, 384, 1000] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 53 % 89) as f32 - 44.0) / 13.0).collect();
            let naive: f64 = a.iter().zip(&b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
            let tol = 1e-4 * (1.0 + naive.abs());
            assert!((f64::from(dot(&a, &b)) - naive).abs() <= tol, "n = {n}");
            assert!((f64::from(dot_lanes::<64, true>(&a, &b)) - naive).abs() <= tol, "n = {n}");
            assert!((f64::from(dot_lanes::<16, false>(&a, &b)) - naive).abs() <= tol, "n = {n}");
            assert!((dot_f64(&a, &b) - naive).abs() < 1e-9);
            let sq: f64 = a.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            assert!((f64::from(sum_squares(&a)) - sq).abs() <= 1e-4 * (1.0 + sq));
        }
        assert!(sum_squares(&[1.0, f32::NAN, 2.0]).is_nan());
        let mut v = vec![0.0f32; 20];
        v[17] = f32::INFINITY;
        assert!(sum_squares(&v).is_infinite());
        v[17] = f32::NEG_INFINITY;
        v[3] = 1.0;
        assert!(sum_squares(&v).is_infinite());
    }
}
