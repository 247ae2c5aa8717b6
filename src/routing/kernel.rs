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
//! NEON on aarch64), enough independent chains to hide the add latency.
//! The lanes are added up once, at the end (see `hsum`).
//!
//! On aarch64 the multiply-add is written `mul_add`, which is a single fused
//! `fmla` there (FMA is part of the base ISA); on baseline x86-64 `mul_add`
//! would be a libm call, so it is `acc + x * y`. The router scans centroids
//! four rows at a time with [`neon::dot4`] on aarch64 (NEON intrinsics,
//! always available there) and this portable kernel for the remaining rows.
//!
//! On x86-64 machines that have AVX2 and FMA (detected at run time by the
//! router, never assumed), [`avx2::dot`] is used instead: the same scheme
//! with eight 256-bit fused multiply-add chains (64 lanes), written with
//! `std::arch` intrinsics because LLVM's vectorisation of a 64-lane
//! accumulator array proved fragile (it kept the array on the stack).

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

/// Sum of the lanes, serially. A tree reduction reads better but LLVM's SLP
/// vectoriser then re-pairs the lanes to match the tree and fills the main
/// loop with shuffles (or drops to 64-bit vectors); a serial sum leaves
/// the loop's layout alone and costs a few adds per dot product.
#[inline(always)]
fn hsum<const L: usize>(acc: &[f32; L]) -> f32 {
    acc.iter().sum()
}

/// Dot product of two equally long vectors with `L` accumulators (see the
/// module doc); the tail shorter than `L` is summed separately.
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
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail = madd::<FMA>(tail, *x, *y);
    }
    hsum(&acc) + tail
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

/// `e^max(x, −20)` for `x ≤ 0`, to f32 precision (relative error below
/// `4e-7`), branch-free and without a libm call: the softmax of a routing
/// call needs one per cluster, and `expf` plus the branch around it were a
/// sixth of the hot path. The clamp is harmless where it is used: `e^−20 <
/// 2^−25`, so such a term added to the softmax sum (always ≥ 1) is rounded
/// away. `x` must not be NaN (the router only passes finite values or −∞).
#[inline(always)]
pub(crate) fn exp_neg(x: f32) -> f32 {
    let x = x.max(-20.0);
    // Cody–Waite: x = i·ln 2 + y with |y| ≤ ln 2 / 2, ln 2 split in a
    // 9-bit head (so i·LN2_HI is exact) and a tail.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Round to nearest with the 1.5·2^23 trick (|x·log2 e| < 29).
    const MAGIC: f32 = 12_582_912.0;
    let i = (x * std::f32::consts::LOG2_E + MAGIC) - MAGIC;
    let y = (x - i * LN2_HI) - i * LN2_LO;
    // e^y by Taylor to degree 6: the remainder |y|^7/7! < 1.2e-7.
    let p = 1.0
        + y * (1.0
            + y * (0.5
                + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0 + y * (1.0 / 720.0))))));
    // 2^i for i in −29 ..= 0: a normal float built from its exponent bits.
    let scale = f32::from_bits(((i as i32 + 127) as u32) << 23);
    p * scale
}

/// Dot product in f64, for the rare query whose squared norm over- or
/// underflows f32 (components beyond ~1e19, or a norm below 1e-10).
pub(crate) fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

/// The NEON kernel (aarch64, where NEON and FMA are part of the base ISA).
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon {
    use std::arch::aarch64::*;

    /// Dot products of `q` with the four consecutive rows of `rows`
    /// (`rows.len() == 4 · q.len()`, else all zeros): each 16-float chunk
    /// of `q` is loaded once for four rows (1.25 loads per fused
    /// multiply-add instead of 2) into sixteen independent `fmla` chains,
    /// enough to keep two to four FMA pipes busy. Written with intrinsics
    /// because LLVM's SLP vectoriser scrambles the portable four-row loop.
    #[inline]
    pub(crate) fn dot4(q: &[f32], rows: &[f32]) -> [f32; 4] {
        let d = q.len();
        if rows.len() != 4 * d {
            return [0.0; 4];
        }
        let (r0, rest) = rows.split_at(d);
        let (r1, rest) = rest.split_at(d);
        let (r2, r3) = rest.split_at(d);
        let (pq, p) = (
            q.as_ptr(),
            [r0.as_ptr(), r1.as_ptr(), r2.as_ptr(), r3.as_ptr()],
        );
        // SAFETY: NEON is always present on aarch64; every load reads 4
        // floats at an offset `i + 4j ≤ d − 4` of a slice of `d` floats.
        unsafe {
            let mut acc = [[vdupq_n_f32(0.0); 4]; 4];
            let mut i = 0;
            while i + 16 <= d {
                let x = [
                    vld1q_f32(pq.add(i)),
                    vld1q_f32(pq.add(i + 4)),
                    vld1q_f32(pq.add(i + 8)),
                    vld1q_f32(pq.add(i + 12)),
                ];
                for (a, pr) in acc.iter_mut().zip(p) {
                    for (j, (aj, xj)) in a.iter_mut().zip(x).enumerate() {
                        *aj = vfmaq_f32(*aj, xj, vld1q_f32(pr.add(i + 4 * j)));
                    }
                }
                i += 16;
            }
            while i + 4 <= d {
                let x = vld1q_f32(pq.add(i));
                for (a, pr) in acc.iter_mut().zip(p) {
                    a[0] = vfmaq_f32(a[0], x, vld1q_f32(pr.add(i)));
                }
                i += 4;
            }
            let mut out = [0.0f32; 4];
            for ((o, a), r) in out.iter_mut().zip(acc).zip([r0, r1, r2, r3]) {
                let v = vaddq_f32(vaddq_f32(a[0], a[1]), vaddq_f32(a[2], a[3]));
                let mut s = vaddvq_f32(v);
                for (x, y) in q[i..].iter().zip(&r[i..]) {
                    s = x.mul_add(*y, s);
                }
                *o = s;
            }
            out
        }
    }
}

/// The AVX2 + FMA kernel (x86-64 only, used when the CPU has both).
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    /// Horizontal sum of the eight lanes.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// Sum of the lanes of `a + b`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn hsum2(a: __m256, b: __m256) -> f32 {
        hsum(_mm256_add_ps(a, b))
    }

    /// Dot products of `q` with the four consecutive rows of `rows`
    /// (`rows.len() == 4 · q.len()`): each 16-float chunk of `q` is loaded
    /// once for four rows, so a fused multiply-add needs 1.25 loads instead
    /// of 2 (loads, not arithmetic, bound the single-row kernel); two
    /// 256-bit accumulators per row make eight independent chains.
    ///
    /// # Safety
    ///
    /// The CPU must support `avx2` and `fma`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn dot4(q: &[f32], rows: &[f32]) -> [f32; 4] {
        let d = q.len();
        if rows.len() != 4 * d {
            return [0.0; 4];
        }
        let (r0, rest) = rows.split_at(d);
        let (r1, rest) = rest.split_at(d);
        let (r2, r3) = rest.split_at(d);
        let (pq, p0, p1, p2, p3) = (
            q.as_ptr(),
            r0.as_ptr(),
            r1.as_ptr(),
            r2.as_ptr(),
            r3.as_ptr(),
        );
        let z = _mm256_setzero_ps();
        let (mut a0, mut a1, mut a2, mut a3, mut a4, mut a5, mut a6, mut a7) =
            (z, z, z, z, z, z, z, z);
        let mut i = 0;
        // SAFETY (all loads below): `q` and the four rows hold `d` floats
        // each and every load reads 8 floats at `i ≤ d − 8`.
        while i + 16 <= d {
            let x = _mm256_loadu_ps(pq.add(i));
            let y = _mm256_loadu_ps(pq.add(i + 8));
            a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p0.add(i)), a0);
            a1 = _mm256_fmadd_ps(y, _mm256_loadu_ps(p0.add(i + 8)), a1);
            a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p1.add(i)), a2);
            a3 = _mm256_fmadd_ps(y, _mm256_loadu_ps(p1.add(i + 8)), a3);
            a4 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p2.add(i)), a4);
            a5 = _mm256_fmadd_ps(y, _mm256_loadu_ps(p2.add(i + 8)), a5);
            a6 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p3.add(i)), a6);
            a7 = _mm256_fmadd_ps(y, _mm256_loadu_ps(p3.add(i + 8)), a7);
            i += 16;
        }
        if i + 8 <= d {
            let x = _mm256_loadu_ps(pq.add(i));
            a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p0.add(i)), a0);
            a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p1.add(i)), a2);
            a4 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p2.add(i)), a4);
            a6 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p3.add(i)), a6);
            i += 8;
        }
        let mut out = [hsum2(a0, a1), hsum2(a2, a3), hsum2(a4, a5), hsum2(a6, a7)];
        for (o, r) in out.iter_mut().zip([r0, r1, r2, r3]) {
            for (x, y) in q[i..].iter().zip(&r[i..]) {
                *o = x.mul_add(*y, *o);
            }
        }
        out
    }

    /// Dot product with eight independent 256-bit FMA accumulators.
    ///
    /// # Safety
    ///
    /// The CPU must support `avx2` and `fma`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [_mm256_setzero_ps(); 8];
        let ca = a.chunks_exact(64);
        let cb = b.chunks_exact(64);
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            let (x, y) = (x.as_ptr(), y.as_ptr());
            for (k, acc) in acc.iter_mut().enumerate() {
                // SAFETY: `x` and `y` point to 64 floats; `8k + 8 ≤ 64`.
                *acc = _mm256_fmadd_ps(
                    _mm256_loadu_ps(x.add(8 * k)),
                    _mm256_loadu_ps(y.add(8 * k)),
                    *acc,
                );
            }
        }
        let ca = ra.chunks_exact(8);
        let cb = rb.chunks_exact(8);
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            // SAFETY: both chunks hold exactly 8 floats.
            acc[0] = _mm256_fmadd_ps(
                _mm256_loadu_ps(x.as_ptr()),
                _mm256_loadu_ps(y.as_ptr()),
                acc[0],
            );
        }
        let s = _mm256_add_ps(
            _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])),
            _mm256_add_ps(_mm256_add_ps(acc[4], acc[5]), _mm256_add_ps(acc[6], acc[7])),
        );
        let mut tail = 0.0f32;
        for (x, y) in ra.iter().zip(rb) {
            tail = x.mul_add(*y, tail);
        }
        hsum(s) + tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_naive() {
        for n in [
            0usize, 1, 7, 8, 9, 15, 16, 17, 33, 63, 64, 65, 127, 384, 1000,
        ] {
            let a: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
                .collect();
            let b: Vec<f32> = (0..n)
                .map(|i| ((i * 53 % 89) as f32 - 44.0) / 13.0)
                .collect();
            let naive: f64 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| f64::from(x) * f64::from(y))
                .sum();
            let tol = 1e-4 * (1.0 + naive.abs());
            assert!((f64::from(dot(&a, &b)) - naive).abs() <= tol, "n = {n}");
            #[cfg(target_arch = "aarch64")]
            {
                let rows: Vec<f32> = [&b, &a, &b, &a]
                    .iter()
                    .flat_map(|r| r.iter().copied())
                    .collect();
                let v4 = neon::dot4(&a, &rows);
                let aa: f64 = a.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
                for (k, want) in [naive, aa, naive, aa].into_iter().enumerate() {
                    let tol = 1e-4 * (1.0 + want.abs());
                    assert!((f64::from(v4[k]) - want).abs() <= tol, "n = {n}, row {k}");
                }
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the features were just detected.
                let v = unsafe { avx2::dot(&a, &b) };
                assert!((f64::from(v) - naive).abs() <= tol, "n = {n}");
                let rows: Vec<f32> = [&b, &a, &b, &a]
                    .iter()
                    .flat_map(|r| r.iter().copied())
                    .collect();
                // SAFETY: as above.
                let v4 = unsafe { avx2::dot4(&a, &rows) };
                let aa: f64 = a.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
                for (k, want) in [naive, aa, naive, aa].into_iter().enumerate() {
                    let tol = 1e-4 * (1.0 + want.abs());
                    assert!((f64::from(v4[k]) - want).abs() <= tol, "n = {n}, row {k}");
                }
            }
            assert!(
                (f64::from(dot_lanes::<16, false>(&a, &b)) - naive).abs() <= tol,
                "n = {n}"
            );
            assert!((dot_f64(&a, &b) - naive).abs() < 1e-9);
            let sq: f64 = a.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            assert!((f64::from(sum_squares(&a)) - sq).abs() <= 1e-4 * (1.0 + sq));
        }
        assert!(sum_squares(&[1.0, f32::NAN, 2.0]).is_nan());
        let mut worst = 0.0f64;
        for k in 0..=200_000 {
            let x = -20.0 * k as f32 / 200_000.0;
            let exact = f64::from(x).exp();
            worst = worst.max((f64::from(exp_neg(x)) - exact).abs() / exact);
        }
        assert!(worst < 4e-7, "exp_neg relative error {worst}");
        assert_eq!(exp_neg(0.0), 1.0);
        // Clamped at e^-20, which vanishes next to 1.
        for x in [-20.5, -100.0, f32::MIN, f32::NEG_INFINITY] {
            assert!(exp_neg(x) <= 2.1e-9 && exp_neg(x) > 0.0);
            assert_eq!(1.0 + exp_neg(x), 1.0);
        }
        let mut v = vec![0.0f32; 20];
        v[17] = f32::INFINITY;
        assert!(sum_squares(&v).is_infinite());
        v[17] = f32::NEG_INFINITY;
        v[3] = 1.0;
        assert!(sum_squares(&v).is_infinite());
    }
}
