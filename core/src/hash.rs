//! The engine's hash maps and sets: std's `HashMap` with a multiply-rotate hasher (the Fx hash
//! rustc uses) instead of SipHash. The keys are item ids, categories and pool positions, read
//! on every ranking (the pool's id index, the vector cache, category affinity, purchases):
//! profiled in Chromium, SipHash was ~8 % of a re-rank. HashDoS resistance buys nothing here:
//! the keys come from the storefront's own pool and the shopper's own history, and a page that
//! wanted to slow its own engine down has easier ways.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

pub type FastHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
pub type FastHashSet<T> = HashSet<T, BuildHasherDefault<FxHasher>>;

/// An empty map (`HashMap::new` is only defined for the default hasher).
pub fn map<K, V>() -> FastHashMap<K, V> {
    FastHashMap::default()
}

/// An empty map with room for `n` entries.
pub fn map_with_capacity<K, V>(n: usize) -> FastHashMap<K, V> {
    FastHashMap::with_capacity_and_hasher(n, BuildHasherDefault::default())
}

/// An empty set.
pub fn set<T>() -> FastHashSet<T> {
    FastHashSet::default()
}

/// The Fx hash: per word, `h = (h.rotl(5) ^ word) * K`. Strings are hashed eight bytes at a
/// time (std adds a 0xff terminator after a `str`'s bytes, so "ab"+"c" and "a"+"bc" differ).
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length in the top byte: "a\0" and "a" end in different words.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // hashbrown takes its 7-bit tag from the top bits and the bucket from the low ones;
        // the multiply leaves the low bits weakest, so fold the high half in.
        self.hash ^ (self.hash >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
        BuildHasherDefault::<FxHasher>::default().hash_one(value)
    }

    #[test]
    fn equal_keys_hash_equal_and_near_keys_apart() {
        assert_eq!(hash_of("sku-1"), hash_of(&"sku-1".to_owned()));
        let ids: Vec<String> = (0..10_000).map(|i| format!("sku-{i}")).collect();
        let distinct: FastHashSet<u64> = ids.iter().map(|id| hash_of(id.as_str())).collect();
        assert_eq!(distinct.len(), ids.len(), "no two of 10,000 sequential ids collide");
        // Prefixes and zero padding are different strings.
        assert_ne!(hash_of("a"), hash_of("a\0"));
        assert_ne!(hash_of(&("ab", "c")), hash_of(&("a", "bc")));
    }

    #[test]
    fn low_bits_spread_sequential_ids_over_buckets() {
        // hashbrown picks the bucket from the low bits: 1,000 ids over 1,024 buckets should
        // fill most of them (a uniform hash fills ~63 %).
        let buckets: FastHashSet<u64> = (0..1000).map(|i| hash_of(format!("{i}").as_str()) & 1023).collect();
        assert!(buckets.len() > 550, "{} buckets of 1024 used", buckets.len());
        let positions: FastHashSet<u64> = (0..1000usize).map(|i| hash_of(&i) & 1023).collect();
        assert!(positions.len() > 550, "{} buckets of 1024 used", positions.len());
    }

    #[test]
    fn maps_work_as_maps() {
        let mut m: FastHashMap<String, usize> = map_with_capacity(4);
        for i in 0..100 {
            m.insert(format!("item-{i}"), i);
        }
        assert!((0..100).all(|i| m.get(&format!("item-{i}")) == Some(&i)));
        assert_eq!(m.get("item-100"), None);
    }
}
