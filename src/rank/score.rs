//! Cosine scoring on the CPU: the reference every other backend (the WGSL kernel) must match
//! within 1e-4.

/// Euclidean norm, with the tiny epsilon the kernels use so zero vectors score 0, not NaN.
pub const NORM_EPSILON: f32 = 1e-12;

pub fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// cos(a, b); 0 when either vector is all zeros.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (norm(a) * norm(b)).max(NORM_EPSILON)
}

/// cos(query, row) for every row of a row-major `[rows, dim]` matrix.
pub fn cosine_scores(query: &[f32], matrix: &[f32], dim: usize) -> Vec<f32> {
    let query_norm = norm(query);
    matrix
        .chunks_exact(dim)
        .map(|row| {
            let dot: f32 = query.iter().zip(row).map(|(x, y)| x * y).sum();
            dot / (query_norm * norm(row)).max(NORM_EPSILON)
        })
        .collect()
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
    }
}
