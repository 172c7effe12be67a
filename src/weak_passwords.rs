//! Loads `SESAME_WEAK_PASSWORDS_FILE` once, at start-up: one pass over the file spreads each
//! line's key into a bucket file in a temporary folder, then each bucket's filter is built
//! from its keys alone. A hundred million lines end as 250 MiB of filters (bench/weak_passwords.rs),
//! with a few MB of keys at a time while they are built (the temporary folder takes 8 bytes a
//! line).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::config::Config;
use crate::domain::password_policy::weak_list::{BUCKETS, WeakList, WeakListBuilder, bucket_of, line_key};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Filter(#[from] crate::domain::password_policy::weak_list::WeakListError),
}

/// Loads the configured file, if any, into the policy, off the async threads.
pub async fn apply(config: &mut Config) -> Result<(), LoadError> {
    let Some(path) = config.weak_passwords_file.clone() else { return Ok(()) };
    let started = std::time::Instant::now();
    let list =
        tokio::task::spawn_blocking(move || load(&path)).await.map_err(|e| std::io::Error::other(e.to_string()))??;
    tracing::info!(passwords = list.len(), seconds = started.elapsed().as_secs_f64(), "weak passwords loaded");
    config.password_policy.weak_list = list;
    Ok(())
}

/// Reads the file (one password a line, or SHA-1 hashes in hex) into a compact set.
pub fn load(path: &Path) -> Result<WeakList, LoadError> {
    let spill = tempfile::tempdir()?;
    let mut writers = (0..BUCKETS)
        .map(|bucket| File::create(spill.path().join(bucket.to_string())).map(BufWriter::new))
        .collect::<Result<Vec<_>, _>>()?;
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line)? > 0 {
        if let Some(key) = line_key(&line) {
            writers[bucket_of(key)].write_all(&key.to_le_bytes())?;
        }
        line.clear();
    }
    for writer in &mut writers {
        writer.flush()?;
    }
    drop(writers);
    let mut builder = WeakListBuilder::default();
    for bucket in 0..BUCKETS {
        let mut bytes = Vec::new();
        File::open(spill.path().join(bucket.to_string()))?.read_to_end(&mut bytes)?;
        let keys = bytes.chunks_exact(8).map(|k| u64::from_le_bytes(k.try_into().unwrap_or_default())).collect();
        builder.bucket(bucket, keys)?;
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_passwords_and_hashes_is_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weak.txt");
        // « Chaussette2024! » as its SHA-1, the way breached-password corpora publish it.
        let lines: Vec<String> = (0..20_000).map(|i| format!("Refuse-{i}!")).collect();
        std::fs::write(&path, format!("{}\n48E86FBAA97FC89066C53A7CA2075B7F5ADE732E:12\r\n\n", lines.join("\n")))
            .unwrap();
        let list = load(&path).unwrap();
        assert_eq!(list.len(), 20_001);
        assert!(lines.iter().all(|l| list.contains(l)));
        assert!(list.contains("Chaussette2024!"));
        assert!(!list.contains("Refuse-20000!"));
    }

    #[test]
    fn an_empty_file_refuses_nothing_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.txt");
        std::fs::write(&path, "").unwrap();
        let list = load(&path).unwrap();
        assert!(list.is_empty() && !list.contains(""));
        assert!(matches!(load(&dir.path().join("missing.txt")), Err(LoadError::Io(_))));
    }
}
