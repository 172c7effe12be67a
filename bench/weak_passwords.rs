//! Benchmark: loading `SESAME_WEAK_PASSWORDS_FILE`. Writes N lines of SHA-1 hashes (as
//! breached-password corpora publish them: « HEX:count »), loads them as `serve` does, and
//! prints the time, the process's peak and final resident memory, and a check's time.
//!
//! Run: `cargo run --release --example weak_passwords [N]` (default 10,000,000 lines, about
//! 450 MB of file and 80 MB of temporary keys, both in the temporary folder).

use std::io::{BufWriter, Write};
use std::time::Instant;

use sha2::Digest;

/// `VmHWM` (peak) and `VmRSS` (now) of this process, in MiB.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weak.txt");
    let started = Instant::now();
    {
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
        for i in 0..n {
            // Any 40 hex digits do: SHA-256's first 20 bytes of the line number.
            let digest = sha2::Sha256::digest(i.to_le_bytes());
            for byte in &digest[..20] {
                write!(out, "{byte:02X}").unwrap();
            }
            writeln!(out, ":{}", i % 1000 + 1).unwrap();
        }
        out.flush().unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
    println!("wrote {n} lines ({size:.0} MB) in {:.1} s", started.elapsed().as_secs_f64());
    let (peak_before, _) = memory_mib();
    let started = Instant::now();
    let list = sesame::weak_passwords::load(&path).unwrap();
    let load = started.elapsed().as_secs_f64();
    let (peak, now) = memory_mib();
    println!("loaded {} passwords in {load:.1} s", list.len());
    println!("resident memory: {now:.0} MiB after loading, peak {peak:.0} MiB (before loading: {peak_before:.0} MiB)");
    println!("bytes per password held: {:.2}", (now - peak_before).max(0.0) * 1024.0 * 1024.0 / n as f64);
    let started = Instant::now();
    let checks = 100_000;
    let found = (0..checks).filter(|i| list.contains(&format!("Accepted-{i}!"))).count();
    println!(
        "one lookup: {:.2} µs; false alarms: {found} in {checks}",
        started.elapsed().as_secs_f64() * 1e6 / checks as f64
    );
}
