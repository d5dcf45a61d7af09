//! The WGSL source as it ships in the wasm: comments blanked at compile time.

/// `src` with every `//` comment replaced by spaces, byte for byte: the same length and the
/// same lines (a compile error still points at the right line), and gzip turns the runs of
/// spaces into almost nothing — shaders/encoder.wgsl's comments are half of its 2.9 KB gzip.
/// WGSL has no string literals, so `//` always starts a comment. `N` must be `src.len()`.
pub const fn blank_comments<const N: usize>(src: &str) -> [u8; N] {
    let bytes = src.as_bytes();
    assert!(bytes.len() == N, "N must be the source's length in bytes");
    let mut out = [0u8; N];
    let (mut i, mut in_comment) = (0, false);
    while i < N {
        let b = bytes[i];
        if b == b'\n' {
            in_comment = false;
        } else if !in_comment && b == b'/' && i + 1 < N && bytes[i + 1] == b'/' {
            in_comment = true;
        }
        // Every byte of a comment becomes an ASCII space, so the result stays UTF-8.
        out[i] = if in_comment { b' ' } else { b };
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::blank_comments;

    #[test]
    fn comments_become_spaces_and_code_stays() {
        const SRC: &str = "// héllo\nlet a = 1; // one\nlet b = a/2;\n";
        let out: [u8; SRC.len()] = blank_comments(SRC);
        let text = std::str::from_utf8(&out).expect("UTF-8");
        assert_eq!(text.len(), SRC.len());
        assert_eq!(text.lines().map(str::trim_end).collect::<Vec<_>>(), ["", "let a = 1;", "let b = a/2;"]);
    }
}
