//! Which characters make words, and their lower case, without std's Unicode tables.
//!
//! `char::is_alphanumeric` and `char::to_lowercase` link ~7.5 KB (gzip) of tables into the
//! shipped wasm, half of the text tower's whole cost there. A store's product text needs far
//! less: words are split at whitespace, punctuation and symbols (listed below as ranges), and
//! every other character is part of a word — letters and digits of any script, and combining
//! accents too, so a decomposed "é" stays in its word. Case is folded for the cased scripts a
//! store's catalogue is written in (Latin with its European extensions and Vietnamese, Greek,
//! Cyrillic, Armenian, Georgian, fullwidth Latin); the tests check each folded block against
//! std character by character. Scripts without case (CJK, Arabic, Hebrew, Thai, …) need none.
//!
//! The trainer and the browser both tokenize through this module, so a model's rows mean the
//! same words in both; it is part of the model format (docs/model-format.md, "Text tower").

/// Non-ASCII code points that separate words: punctuation, symbols, spaces, emoji, private
/// use. Sorted, inclusive, non-overlapping (a test checks).
const SEPARATORS: &[(u32, u32)] = &[
    // Latin-1: C1 controls, NBSP, ¡¢£¤¥¦§¨©; «¬ SHY ®¯°±; ´; ¶·¸; »; ¿; × and ÷. (ª²³µ¹º¼½¾ are
    // letters or numbers and stay in words.)
    (0x80, 0xA9),
    (0xAB, 0xB1),
    (0xB4, 0xB4),
    (0xB6, 0xB8),
    (0xBB, 0xBB),
    (0xBF, 0xBF),
    (0xD7, 0xD7),
    (0xF7, 0xF7),
    (0x37E, 0x37E), // Greek question mark
    (0x387, 0x387), // Greek ano teleia
    (0x55A, 0x55F), // Armenian punctuation
    (0x589, 0x58A),
    (0x5BE, 0x5BE), // Hebrew maqaf
    (0x5C0, 0x5C0),
    (0x5C3, 0x5C3),
    (0x5F3, 0x5F4),
    (0x60C, 0x60D), // Arabic comma, date separator
    (0x61B, 0x61F),
    (0x66A, 0x66D),
    (0x6D4, 0x6D4),
    (0x964, 0x965), // Devanagari danda
    (0xE4F, 0xE4F), // Thai
    (0xE5A, 0xE5B),
    (0x10FB, 0x10FB),
    (0x1360, 0x1368), // Ethiopic
    (0x2000, 0x206F), // spaces, dashes, quotes, bullets, zero-width joiners
    (0x20A0, 0x20CF), // currency
    (0x2100, 0x2101), // ℀ ℁
    (0x2103, 0x2106), // ℃ ℄ ℅ ℆
    (0x2108, 0x2109), // ℈ ℉
    (0x2116, 0x2118), // № ℗ ℘
    (0x211E, 0x2123), // ℞ … ™
    (0x2190, 0x245F), // arrows, mathematical operators, technical, control pictures, OCR
    (0x2500, 0x2775), // box drawing, blocks, shapes, misc symbols, dingbats
    (0x2794, 0x2BFF), // dingbats, math symbols, arrows, braille, misc symbols and arrows
    (0x2E00, 0x2E7F), // supplemental punctuation
    (0x3000, 0x3004), // ideographic space and punctuation
    (0x3008, 0x3020),
    (0x3030, 0x3030),
    (0x303D, 0x303F),
    (0x30FB, 0x30FB), // katakana middle dot
    (0xE000, 0xF8FF), // private use
    (0xFD3E, 0xFD3F),
    (0xFE00, 0xFE1F), // variation selectors, vertical forms
    (0xFE30, 0xFE6F), // CJK compatibility forms, small form variants
    (0xFEFF, 0xFEFF), // byte order mark
    (0xFF01, 0xFF0F), // fullwidth punctuation
    (0xFF1A, 0xFF20),
    (0xFF3B, 0xFF40),
    (0xFF5B, 0xFF65),
    (0xFFE0, 0xFFEF), // fullwidth signs
    (0xFFF9, 0xFFFF), // specials
    (0x1F000, 0x1FAFF), // emoji, playing cards, pictographs, symbols
    (0xE0000, 0xE0FFF), // tags, variation selectors supplement
    (0xF0000, 0x10FFFF), // supplementary private use
];

/// Is `c` part of a word? ASCII letters and digits; outside ASCII, anything that is not
/// whitespace, a control character or in [`SEPARATORS`].
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    let u = c as u32;
    if c.is_whitespace() {
        return false;
    }
    // Binary search over the sorted ranges: the one whose start is the last ≤ u.
    let at = SEPARATORS.partition_point(|&(start, _)| start <= u);
    at == 0 || u > SEPARATORS[at - 1].1
}

/// `c` in lower case, for the cased blocks listed in the module comment; every other
/// character as it is. One character in, one out (std turns "İ" into "i̇", two characters: here
/// it is "i").
pub fn fold_case(c: char) -> char {
    let u = c as u32;
    let even = u % 2 == 0;
    let folded = match u {
        0x41..=0x5A => u + 32,
        0x80..=0xFF => match u {
            0xC0..=0xDE if u != 0xD7 => u + 32,
            _ => u,
        },
        // Latin Extended-A: upper/lower pairs, with the parity switching at ĸ and ŉ.
        0x130 => 0x69,
        0x100..=0x137 if even => u + 1,
        0x139..=0x148 if !even => u + 1,
        0x14A..=0x177 if even => u + 1,
        0x178 => 0xFF,
        0x179..=0x17E if !even => u + 1,
        // Latin Extended-B: Pinyin tones, Romanian, Livonian and the other regular pairs.
        0x1CD..=0x1DC if !even => u + 1,
        0x1DE..=0x1EF if even => u + 1,
        0x1F4 => 0x1F5,
        0x1F8..=0x21F if even => u + 1,
        0x222..=0x233 if even => u + 1,
        0x246..=0x24F if even => u + 1,
        // Greek.
        0x370..=0x373 if even => u + 1,
        0x376 => 0x377,
        0x37F => 0x3F3,
        0x386 => 0x3AC,
        0x388..=0x38A => u + 37,
        0x38C => 0x3CC,
        0x38E..=0x38F => u + 63,
        0x391..=0x3AB if u != 0x3A2 => u + 32,
        0x3CF => 0x3D7,
        0x3D8..=0x3EF if even => u + 1,
        0x3F4 => 0x3B8,
        0x3F7 => 0x3F8,
        0x3F9 => 0x3F2,
        0x3FA => 0x3FB,
        0x3FD..=0x3FF => u - 130,
        // Cyrillic.
        0x400..=0x40F => u + 80,
        0x410..=0x42F => u + 32,
        0x460..=0x481 if even => u + 1,
        0x48A..=0x4BF if even => u + 1,
        0x4C0 => 0x4CF,
        0x4C1..=0x4CE if !even => u + 1,
        0x4D0..=0x52F if even => u + 1,
        // Armenian, Georgian.
        0x531..=0x556 => u + 48,
        0x10A0..=0x10C5 => u + 0x1C60,
        0x10C7 | 0x10CD => u + 0x1C60,
        // Latin Extended Additional (Vietnamese, Welsh, …).
        0x1E00..=0x1E95 if even => u + 1,
        0x1E9E => 0xDF,
        0x1EA0..=0x1EFF if even => u + 1,
        // Fullwidth Latin.
        0xFF21..=0xFF3A => u + 32,
        _ => u,
    };
    char::from_u32(folded).unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocks `fold_case` claims, where it must equal std's lower case exactly (İ aside).
    const FOLDED_BLOCKS: &[(u32, u32)] = &[
        (0x00, 0x24F),   // Basic Latin, Latin-1, Latin Extended-A and -B
        (0x370, 0x3FF),  // Greek
        (0x400, 0x52F),  // Cyrillic and its supplement
        (0x530, 0x58F),  // Armenian
        (0x10A0, 0x10FF), // Georgian
        (0x1E00, 0x1EFF), // Latin Extended Additional
        (0xFF00, 0xFFEF), // fullwidth forms
    ];

    fn std_lower(c: char) -> String {
        c.to_lowercase().collect()
    }

    #[test]
    fn folds_like_std_where_it_claims_to() {
        let (mut latin_b, mut differ) = (Vec::new(), Vec::new());
        let mut folded = 0;
        for &(lo, hi) in FOLDED_BLOCKS {
            for c in (lo..=hi).filter_map(char::from_u32) {
                let ours = fold_case(c);
                folded += usize::from(ours != c);
                if c != 'İ' && ours.to_string() != std_lower(c) {
                    let line = format!("U+{:04X} {c}: ours {ours}, std {}", c as u32, std_lower(c));
                    // Latin Extended-B's irregular letters (Ɓ, Ɔ, Ǆ, …) are left alone.
                    if (0x180..=0x24F).contains(&(c as u32)) { latin_b.push(line) } else { differ.push(line) }
                }
            }
        }
        assert!(differ.is_empty(), "{differ:#?}");
        assert!(latin_b.len() <= 60, "{} Latin Extended-B differences: {latin_b:#?}", latin_b.len());
        assert!(folded > 600, "only {folded} characters folded");
        assert_eq!(fold_case('İ'), 'i');
        assert_eq!(fold_case('ẞ'), 'ß');
        assert_eq!(fold_case('中'), '中');
    }

    #[test]
    fn never_folds_a_character_std_keeps() {
        // Outside the claimed blocks: whatever fold_case changes, std changes the same way.
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let ours = fold_case(c);
            if ours != c && c != 'İ' {
                assert_eq!(ours.to_string(), std_lower(c), "U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn separators_are_sorted_and_disjoint() {
        for pair in SEPARATORS.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:X?}");
        }
        assert!(SEPARATORS.iter().all(|&(lo, _)| lo >= 0x80), "ASCII is decided by is_ascii_alphanumeric");
    }

    #[test]
    fn words_are_letters_and_digits_of_any_script() {
        for c in "aZ09éßÆœğışțẞΩжЖԱ中文ひらがなカタカナ한국어עבריתالعربيةहिन्दीไทย²½".chars() {
            assert!(is_word_char(c), "{c} (U+{:04X}) should be in a word", c as u32);
        }
        for c in " \t\n,.;:!?'\"()[]{}-_/\\|@#$%^&*+=<>~`\u{a0}¡¿«»€£¥©®°±×÷–—‘’“”•…™№\u{200b}\u{3000}、。「」・！？（）😀🛒\u{fe0f}\u{feff}".chars() {
            assert!(!is_word_char(c), "{c:?} (U+{:04X}) should separate words", c as u32);
        }
        // Combining accents stay in their word: "e\u{301}" is one word, as "é" is.
        assert!(is_word_char('\u{301}'));
    }

    #[test]
    fn agrees_with_std_on_letters_and_digits() {
        // Every character std calls alphanumeric is a word character here (the converse does not
        // hold by design: marks and unlisted symbols stay in words).
        let split: Vec<String> = (0x80..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| c.is_alphanumeric() && !is_word_char(c))
            .map(|c| format!("U+{:04X}", c as u32))
            .collect();
        // The exceptions are symbols Unicode also classes as letters or numbers and the ranges
        // above treat as symbols: the enclosed alphanumerics supplement (🄰, 🅐, …; 91 of them) and
        // U+2E2F. More would mean a separator range swallowed letters.
        assert!(split.len() <= 92, "{} alphanumerics would split words: {:?}", split.len(), &split[..split.len().min(40)]);
    }
}
