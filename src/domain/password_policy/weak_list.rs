//! The institution's list of refused passwords (`SESAME_WEAK_PASSWORDS_FILE`): plain
//! passwords or SHA-1 hashes, held as binary fuse filters of 64-bit keys, about 2.3 bytes a
//! password whatever its length, with one false alarm in 65,536 checks.
//!
//! The filters are built bucket by bucket (keys spread by their first bits), so that building
//! one for a hundred million lines holds one bucket's keys at a time, never them all.

use std::sync::Arc;

use sha1::{Digest, Sha1};
use xorf::{BinaryFuse16, Filter};

/// Keys are spread over 2^`BUCKET_BITS` buckets by their first bits.
pub const BUCKET_BITS: u32 = 8;
pub const BUCKETS: usize = 1 << BUCKET_BITS;

/// The key of a line of the file: the first 8 bytes of the SHA-1 it holds (40 hex digits,
/// with or without « :count » after them, as breached-password corpora publish them), or of
/// the password it is. `None` for a blank line.
pub fn line_key(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return None;
    }
    let hex = line.split(|b| *b == b':').next().unwrap_or(line);
    if hex.len() == 40 && hex.iter().all(u8::is_ascii_hexdigit) {
        let mut key = 0u64;
        for digit in &hex[..16] {
            key = key << 4 | u64::from(char::from(*digit).to_digit(16).unwrap_or(0));
        }
        return Some(key);
    }
    Some(sha1_key(line))
}

fn sha1_key(bytes: &[u8]) -> u64 {
    let digest = Sha1::digest(bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

pub fn bucket_of(key: u64) -> usize {
    (key >> (64 - BUCKET_BITS)) as usize
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the filter of bucket {bucket} could not be built: {reason}")]
pub struct WeakListError {
    bucket: usize,
    reason: &'static str,
}

/// Collects the buckets' filters, one bucket's keys at a time.
pub struct WeakListBuilder {
    buckets: Vec<Option<BinaryFuse16>>,
    keys: u64,
}

impl Default for WeakListBuilder {
    fn default() -> Self {
        Self { buckets: vec![None; BUCKETS], keys: 0 }
    }
}

impl WeakListBuilder {
    /// Builds bucket `bucket` from its keys, in any order, repeats allowed.
    pub fn bucket(&mut self, bucket: usize, mut keys: Vec<u64>) -> Result<(), WeakListError> {
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(());
        }
        let filter = BinaryFuse16::try_from(&keys).map_err(|reason| WeakListError { bucket, reason })?;
        self.keys += keys.len() as u64;
        self.buckets[bucket] = Some(filter);
        Ok(())
    }

    pub fn finish(self) -> WeakList {
        WeakList(Some(Arc::new(Filters { buckets: self.buckets, keys: self.keys })))
    }
}

struct Filters {
    buckets: Vec<Option<BinaryFuse16>>,
    keys: u64,
}

/// Shared by every clone of the configuration; empty unless a file was given.
#[derive(Clone, Default)]
pub struct WeakList(Option<Arc<Filters>>);

impl WeakList {
    pub fn contains(&self, password: &str) -> bool {
        let Some(filters) = &self.0 else { return false };
        let key = sha1_key(password.as_bytes());
        filters.buckets[bucket_of(key)].as_ref().is_some_and(|filter| filter.contains(&key))
    }

    /// How many distinct passwords it holds.
    pub fn len(&self) -> u64 {
        self.0.as_ref().map_or(0, |filters| filters.keys)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for WeakList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeakList({} passwords)", self.len())
    }
}

/// Two policies are the same when they share the same list.
impl PartialEq for WeakList {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }
}

impl Eq for WeakList {}

/// A list built as the loader builds it, from lines.
#[cfg(test)]
pub(crate) fn list_of(lines: &[&[u8]]) -> WeakList {
    let mut buckets = vec![Vec::new(); BUCKETS];
    for key in lines.iter().filter_map(|line| line_key(line)) {
        buckets[bucket_of(key)].push(key);
    }
    let mut builder = WeakListBuilder::default();
    for (bucket, keys) in buckets.into_iter().enumerate() {
        builder.bucket(bucket, keys).expect("built");
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_passwords_and_sha1_hashes_are_both_refused() {
        // SHA-1 of « Chaussette2024! », upper and lower case, bare and as corpora write it.
        let hash = format!("{:X}", Sha1::digest(b"Chaussette2024!"));
        let list = list_of(&[
            b"Trottinette#42\n",
            hash.as_bytes(),
            format!("{}:1337\r\n", hash.to_lowercase()).as_bytes(),
            b"\n",
            b"",
        ]);
        assert!(list.contains("Trottinette#42"));
        assert!(list.contains("Chaussette2024!"));
        assert_eq!(list.len(), 2, "the same hash twice is one password; blank lines are none");
        assert!(!list.contains("Trottinette#43"));
        assert!(!list.contains("trottinette#42"), "the comparison is exact");
    }

    #[test]
    fn lines_that_only_look_like_hashes_are_passwords() {
        let almost = "0123456789abcdef0123456789abcdef0123456g";
        assert_eq!(line_key(almost.as_bytes()), Some(sha1_key(almost.as_bytes())));
        assert_eq!(line_key(b"a:b"), Some(sha1_key(b"a:b")));
        let non_utf8 = [0xff, 0xfe, b'x'];
        assert_eq!(line_key(&non_utf8), Some(sha1_key(&non_utf8)));
    }

    #[test]
    fn false_alarms_are_rare() {
        let lines: Vec<String> = (0..50_000).map(|i| format!("refused-{i}")).collect();
        let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        let list = list_of(&refs);
        assert!(lines.iter().all(|l| list.contains(l)), "no false negatives");
        let alarms = (0..100_000).filter(|i| list.contains(&format!("accepted-{i}"))).count();
        assert!(alarms <= 10, "{alarms} false alarms in 100,000 (about 1.5 expected)");
    }

    #[test]
    fn no_list_holds_nothing() {
        let list = WeakList::default();
        assert!(!list.contains("anything") && list.is_empty());
        assert_eq!(list, WeakList::default());
        assert_ne!(list_of(&[b"x"]), list_of(&[b"x"]), "two loads are two lists");
        let shared = list_of(&[b"x"]);
        assert_eq!(shared.clone(), shared);
        assert_eq!(format!("{shared:?}"), "WeakList(1 passwords)");
    }
}
