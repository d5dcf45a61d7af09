//! The CPU forward's matrix kernel: `Y[r] (+)= b + X[r]·W` for a batch of rows, W row-major
//! `[d_in, d_out]`. Every output element accumulates in the same order (bias, then i = 0, 1,
//! …, each step one multiply and one add), so the SIMD and scalar versions give bit-identical
//! results and the tests of one cover the other.
//!
//! With `-C target-feature=+simd128` (wasm) the 128-bit path keeps a 4-row × 8-column tile of
//! outputs in registers across the whole reduction. Without it (the scalar fallback build,
//! and native builds) a 4-row scalar loop loads each weight once per 4 rows. The release
//! profile optimises for size (`opt-level = "s"`), which turns LLVM's loop vectoriser off, so
//! the vector code is written out rather than left to auto-vectorisation.

/// `y[r*d_out..][..d_out] = (add ? y : 0) + b + x[r*d_in..][..d_in] · w` for every row.
pub(crate) fn linear_rows(x: &[f32], d_in: usize, w: &[f32], b: &[f32], y: &mut [f32], d_out: usize, add: bool) {
    let rows = x.len() / d_in;
    debug_assert_eq!(y.len(), rows * d_out);
    debug_assert_eq!(w.len(), d_in * d_out);
    for r in 0..rows {
        let yr = &mut y[r * d_out..(r + 1) * d_out];
        if add {
            for (yo, bo) in yr.iter_mut().zip(b) {
                *yo += bo;
            }
        } else {
            yr.copy_from_slice(b);
        }
    }
    imp::accumulate(x, d_in, w, y, d_out, rows);
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    /// y[r] += x[r] · w, in 4-row × 8-column register tiles, then a 2-row and a 1-row tile for
    /// the rows left over (an incremental pass has one or two); scalar for the last columns.
    pub(super) fn accumulate(x: &[f32], d_in: usize, w: &[f32], y: &mut [f32], d_out: usize, rows: usize) {
        let mut r = 0;
        while r + 4 <= rows {
            rows_tile::<4>(x, d_in, w, y, d_out, r);
            r += 4;
        }
        // An incremental pass has two new rows per block: one weight load serves both.
        if r + 2 <= rows {
            rows_tile::<2>(x, d_in, w, y, d_out, r);
            r += 2;
        }
        if r < rows {
            rows_tile::<1>(x, d_in, w, y, d_out, r);
        }
    }

    /// Rows `r..r + R`: every full 8-column block in registers across the whole reduction.
    #[inline(always)]
    fn rows_tile<const R: usize>(x: &[f32], d_in: usize, w: &[f32], y: &mut [f32], d_out: usize, r: usize) {
        let full_cols = d_out / 8 * 8;
        let mut o = 0;
        while o < full_cols {
            // SAFETY: all pointer offsets below are within the slices: rows r..r+R <= rows,
            // columns o..o+8 <= full_cols <= d_out, i < d_in (lengths checked by the caller).
            unsafe {
                let yp = y.as_mut_ptr();
                let mut acc = [[f32x4_splat(0.0); 2]; R];
                for (k, a) in acc.iter_mut().enumerate() {
                    let base = yp.add((r + k) * d_out + o);
                    a[0] = v128_load(base as *const v128);
                    a[1] = v128_load(base.add(4) as *const v128);
                }
                for i in 0..d_in {
                    let wp = w.as_ptr().add(i * d_out + o);
                    let w0 = v128_load(wp as *const v128);
                    let w1 = v128_load(wp.add(4) as *const v128);
                    for (k, a) in acc.iter_mut().enumerate() {
                        let xv = f32x4_splat(*x.get_unchecked((r + k) * d_in + i));
                        a[0] = f32x4_add(a[0], f32x4_mul(xv, w0));
                        a[1] = f32x4_add(a[1], f32x4_mul(xv, w1));
                    }
                }
                for (k, a) in acc.iter().enumerate() {
                    let base = yp.add((r + k) * d_out + o);
                    v128_store(base as *mut v128, a[0]);
                    v128_store(base.add(4) as *mut v128, a[1]);
                }
            }
            o += 8;
        }
        if full_cols < d_out {
            super::scalar_block(x, d_in, w, y, d_out, r, r + R, full_cols);
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    pub(super) fn accumulate(x: &[f32], d_in: usize, w: &[f32], y: &mut [f32], d_out: usize, rows: usize) {
        let mut r = 0;
        while r + 4 <= rows {
            let (y0, rest) = y[r * d_out..(r + 4) * d_out].split_at_mut(d_out);
            let (y1, rest) = rest.split_at_mut(d_out);
            let (y2, y3) = rest.split_at_mut(d_out);
            for i in 0..d_in {
                let (a0, a1, a2, a3) = (x[r * d_in + i], x[(r + 1) * d_in + i], x[(r + 2) * d_in + i], x[(r + 3) * d_in + i]);
                let wr = &w[i * d_out..(i + 1) * d_out];
                for ((((wv, o0), o1), o2), o3) in wr.iter().zip(y0.iter_mut()).zip(y1.iter_mut()).zip(y2.iter_mut()).zip(y3.iter_mut()) {
                    *o0 += a0 * wv;
                    *o1 += a1 * wv;
                    *o2 += a2 * wv;
                    *o3 += a3 * wv;
                }
            }
            r += 4;
        }
        super::scalar_block(x, d_in, w, y, d_out, r, rows, 0);
    }
}

/// Rows `r0..r1`, columns `c0..d_out`, one row at a time.
fn scalar_block(x: &[f32], d_in: usize, w: &[f32], y: &mut [f32], d_out: usize, r0: usize, r1: usize, c0: usize) {
    for r in r0..r1 {
        let yr = &mut y[r * d_out + c0..(r + 1) * d_out];
        for i in 0..d_in {
            let a = x[r * d_in + i];
            for (yo, wv) in yr.iter_mut().zip(&w[i * d_out + c0..(i + 1) * d_out]) {
                *yo += a * wv;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::linear_rows;

    #[test]
    fn matches_the_naive_product_for_awkward_shapes() {
        for (rows, d_in, d_out) in [(1, 3, 5), (4, 8, 8), (7, 16, 12), (9, 5, 24), (50, 64, 192)] {
            let x: Vec<f32> = (0..rows * d_in).map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.1).collect();
            let w: Vec<f32> = (0..d_in * d_out).map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.2).collect();
            let b: Vec<f32> = (0..d_out).map(|i| i as f32 * 0.01).collect();
            for add in [false, true] {
                let start: Vec<f32> = (0..rows * d_out).map(|i| (i % 3) as f32).collect();
                let mut y = start.clone();
                linear_rows(&x, d_in, &w, &b, &mut y, d_out, add);
                for r in 0..rows {
                    for o in 0..d_out {
                        let mut want = if add { start[r * d_out + o] + b[o] } else { b[o] };
                        for i in 0..d_in {
                            want += x[r * d_in + i] * w[i * d_out + o];
                        }
                        assert_eq!(y[r * d_out + o], want, "rows {rows} in {d_in} out {d_out} add {add} at ({r},{o})");
                    }
                }
            }
        }
    }
}
