//! Base64 (RFC 4648) in the two alphabets localrank meets: the standard one (`+/`, pool item
//! vectors sent as base64) and the URL-safe one (`-_`, DAP task ids and HPKE config lists). One
//! small codec for the engine, the report crate and the candidate service: the `base64` crate's
//! generic engines cost the wasm ~2.5 KB gzip for the same three calls.
//!
//! Decoding takes the text with or without its `=` padding (tools differ, and it carries no
//! information), but rejects anything else a strict decoder would: a byte outside the
//! alphabet, a length no encoding has, padding in the middle or of the wrong length, and
//! non-zero bits after the last byte (so every byte string has exactly one accepted text).

use std::fmt;

/// Which 64 characters stand for the six-bit values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// `A–Z a–z 0–9 + /` (RFC 4648 §4).
    Standard,
    /// `A–Z a–z 0–9 - _` (RFC 4648 §5, "base64url").
    UrlSafe,
}

impl Alphabet {
    fn symbols(self) -> &'static [u8; 64] {
        match self {
            Alphabet::Standard => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            Alphabet::UrlSafe => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        }
    }

    fn value(self, symbol: u8) -> Option<u8> {
        Some(match symbol {
            b'A'..=b'Z' => symbol - b'A',
            b'a'..=b'z' => symbol - b'a' + 26,
            b'0'..=b'9' => symbol - b'0' + 52,
            b'+' if self == Alphabet::Standard => 62,
            b'/' if self == Alphabet::Standard => 63,
            b'-' if self == Alphabet::UrlSafe => 62,
            b'_' if self == Alphabet::UrlSafe => 63,
            _ => return None,
        })
    }
}

/// Why a text is not base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base64Error {
    /// A character outside the alphabet, at this byte offset.
    InvalidSymbol { offset: usize, symbol: u8 },
    /// The text (without padding) has a length no encoding has (1 more than a multiple of 4).
    InvalidLength,
    /// `=` before the end, or more of it than the length calls for.
    InvalidPadding,
    /// The last character carries bits that no byte string encodes to.
    TrailingBits,
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Error::InvalidSymbol { offset, symbol } => {
                write!(f, "character {:?} at offset {offset} is not in the alphabet", char::from(*symbol))
            }
            Base64Error::InvalidLength => f.write_str("its length is not that of any base64 text"),
            Base64Error::InvalidPadding => f.write_str("its `=` padding is misplaced"),
            Base64Error::TrailingBits => f.write_str("its last character has bits set past the data's end"),
        }
    }
}

impl std::error::Error for Base64Error {}

/// The bytes of `text` (padding optional; see the module's rules).
pub fn decode(text: &str, alphabet: Alphabet) -> Result<Vec<u8>, Base64Error> {
    let bytes = text.as_bytes();
    let data = bytes.iter().position(|&b| b == b'=').unwrap_or(bytes.len());
    let padding = bytes.len() - data;
    if bytes[data..].iter().any(|&b| b != b'=') {
        return Err(Base64Error::InvalidPadding);
    }
    let tail = data % 4;
    if tail == 1 {
        return Err(Base64Error::InvalidLength);
    }
    if padding > 0 && (padding > 2 || tail == 0 || tail + padding != 4) {
        return Err(Base64Error::InvalidPadding);
    }
    let mut out = Vec::with_capacity(data / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for (offset, &symbol) in bytes[..data].iter().enumerate() {
        let value = alphabet.value(symbol).ok_or(Base64Error::InvalidSymbol { offset, symbol })?;
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return Err(Base64Error::TrailingBits);
    }
    Ok(out)
}

/// `bytes` as base64 text, with `=` padding when `pad`.
pub fn encode(bytes: &[u8], alphabet: Alphabet, pad: bool) -> String {
    let symbols = alphabet.symbols();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        let emitted = chunk.len() + 1;
        for i in 0..4 {
            if i < emitted {
                out.push(char::from(symbols[(n >> (18 - 6 * i)) as usize & 63]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_test_vectors_round_trip() {
        // RFC 4648 §10.
        for (plain, coded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(encode(plain.as_bytes(), Alphabet::Standard, true), coded);
            assert_eq!(decode(coded, Alphabet::Standard).unwrap(), plain.as_bytes());
            let unpadded = coded.trim_end_matches('=');
            assert_eq!(encode(plain.as_bytes(), Alphabet::Standard, false), unpadded);
            assert_eq!(decode(unpadded, Alphabet::Standard).unwrap(), plain.as_bytes(), "{unpadded} without padding");
        }
    }

    #[test]
    fn every_byte_value_round_trips_in_both_alphabets() {
        let bytes: Vec<u8> = (0..=255).collect();
        for alphabet in [Alphabet::Standard, Alphabet::UrlSafe] {
            for len in 0..bytes.len() {
                let text = encode(&bytes[..len], alphabet, alphabet == Alphabet::Standard);
                assert_eq!(decode(&text, alphabet).unwrap(), &bytes[..len]);
            }
        }
        assert!(encode(&[0xfb, 0xff], Alphabet::UrlSafe, false).contains(['-', '_']));
        assert!(encode(&[0xfb, 0xff], Alphabet::Standard, true).contains(['+', '/']));
    }

    #[test]
    fn the_other_alphabet_and_malformed_text_are_rejected() {
        assert_eq!(decode("-_8=", Alphabet::Standard), Err(Base64Error::InvalidSymbol { offset: 0, symbol: b'-' }));
        assert_eq!(decode("+/8", Alphabet::UrlSafe), Err(Base64Error::InvalidSymbol { offset: 0, symbol: b'+' }));
        assert_eq!(decode("***", Alphabet::Standard), Err(Base64Error::InvalidSymbol { offset: 0, symbol: b'*' }));
        assert_eq!(decode("Zm9vY", Alphabet::Standard), Err(Base64Error::InvalidLength));
        assert_eq!(decode("Zg=a", Alphabet::Standard), Err(Base64Error::InvalidPadding));
        assert_eq!(decode("Zg===", Alphabet::Standard), Err(Base64Error::InvalidPadding));
        assert_eq!(decode("Zm8==", Alphabet::Standard), Err(Base64Error::InvalidPadding));
        assert_eq!(decode("Zm9v=", Alphabet::Standard), Err(Base64Error::InvalidPadding));
        assert_eq!(decode("Zh==", Alphabet::Standard), Err(Base64Error::TrailingBits));
        assert_eq!(decode("Zm9=", Alphabet::Standard), Err(Base64Error::TrailingBits));
    }
}
