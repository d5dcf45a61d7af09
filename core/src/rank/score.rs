//! Cosine scoring on the CPU: the reference every other backend (the WGSL kernel) must match
//! within 1e-4.

/// Euclidean norm, with the tiny epsilon the kernels use so zero vectors score 0, not NaN.
pub const NORM_EPSILON: f32 = 1e-12;

/// Independent partial sums: a plain `.sum()` fixes the order of float additions and keeps
/// the compiler from vectorising; eight lanes let it use SIMD (SSE/AVX natively, simd128 on
/// wasm when enabled) and are deterministic across backends all the same.
const LANES: usize = 8;

/// a · b over the shorter length. Inlined always: it is the ranking's innermost call, and
/// the size-optimised release build would otherwise keep it a call per vector pair.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let chunks = n / LANES;
    let mut total = lanes::sum(a, b, chunks);
    for i in chunks * LANES..n {
        total += a[i] * b[i];
    }
    total
}

/// The eight partial sums of `dot`, added in lane order. The release wasm is built for size,
/// which turns LLVM's loop vectoriser off, so the SIMD128 build writes the lanes out as two
/// f32x4 accumulators; per lane it is the same multiply then add as the scalar loop, so both
/// builds give bit-identical scores.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod lanes {
    use super::{in_lane_order, LANES};

    #[inline(always)]
    pub(super) fn sum(a: &[f32], b: &[f32], chunks: usize) -> f32 {
        let mut acc = [0.0f32; LANES];
        for c in 0..chunks {
            let (x, y) = (&a[c * LANES..(c + 1) * LANES], &b[c * LANES..(c + 1) * LANES]);
            for l in 0..LANES {
                acc[l] += x[l] * y[l];
            }
        }
        in_lane_order(&acc)
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod lanes {
    use super::{in_lane_order, LANES};
    use core::arch::wasm32::*;

    #[inline(always)]
    pub(super) fn sum(a: &[f32], b: &[f32], chunks: usize) -> f32 {
        debug_assert!(a.len() >= chunks * LANES && b.len() >= chunks * LANES);
        let (mut lo, mut hi) = (f32x4_splat(0.0), f32x4_splat(0.0));
        for c in 0..chunks {
            // SAFETY: c * LANES + 8 <= chunks * LANES <= len of both slices (`dot` passes n / LANES);
            // v128_load has no alignment requirement.
            unsafe {
                let (x, y) = (a.as_ptr().add(c * LANES), b.as_ptr().add(c * LANES));
                lo = f32x4_add(lo, f32x4_mul(v128_load(x as *const v128), v128_load(y as *const v128)));
                hi = f32x4_add(hi, f32x4_mul(v128_load(x.add(4) as *const v128), v128_load(y.add(4) as *const v128)));
            }
        }
        let acc = [
            f32x4_extract_lane::<0>(lo),
            f32x4_extract_lane::<1>(lo),
            f32x4_extract_lane::<2>(lo),
            f32x4_extract_lane::<3>(lo),
            f32x4_extract_lane::<0>(hi),
            f32x4_extract_lane::<1>(hi),
            f32x4_extract_lane::<2>(hi),
            f32x4_extract_lane::<3>(hi),
        ];
        in_lane_order(&acc)
    }
}

/// The lanes' partial sums added in lane order, written out: `iter().sum()` (a fold from −0.0,
/// which this equals bit for bit) stays a call in the size-optimised build.
#[inline(always)]
fn in_lane_order(acc: &[f32; LANES]) -> f32 {
    let mut total = acc[0];
    for &lane in &acc[1..] {
        total += lane;
    }
    total
}

#[inline(always)]
pub fn norm(v: &[f32]) -> f32 {
    dot(v, v).sqrt()
}

/// cos(a, b); 0 when either vector is all zeros.
#[inline(always)]
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b) / (norm(a) * norm(b)).max(NORM_EPSILON)
}

/// cos(query, row) for every row of a row-major `[rows, dim]` matrix.
pub fn cosine_scores(query: &[f32], matrix: &[f32], dim: usize) -> Vec<f32> {
    let query_norm = norm(query);
    matrix.chunks_exact(dim).map(|row| dot(query, row) / (query_norm * norm(row)).max(NORM_EPSILON)).collect()
}

/// [`cosine_scores`] with each row's [`norm`] given (`norms[i]` of row i): the same values.
pub fn cosine_scores_normed(query: &[f32], matrix: &[f32], norms: &[f32], dim: usize) -> Vec<f32> {
    let query_norm = norm(query);
    matrix.chunks_exact(dim).zip(norms).map(|(row, &n)| dot(query, row) / (query_norm * n).max(NORM_EPSILON)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_basics() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 1.0], &[-1.0, -1.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        let scores = cosine_scores(&[1.0, 0.0], &[1.0, 0.0, 0.0, 1.0, 3.0, 4.0], 2);
        assert_eq!(scores.len(), 3);
        assert!((scores[2] - 0.6).abs() < 1e-6);
        // Lengths that are not a multiple of the lane count use the tail loop.
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        assert_eq!(dot(&a, &a), (0..19).map(|i| (i * i) as f32).sum::<f32>());
    }
}
