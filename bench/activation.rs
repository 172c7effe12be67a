//! Benchmark: the cost of one whole activation over HTTP against the Argon2 work it needs
//! (two hashes: answer and password), timed alone in the same run.
//!
//! Run: `cargo run --release --example activation [N]` (default 20 activations, one at a time),
//! with `target/release/sesame` built (or `$SESAME_BIN`); SQLite, or PostgreSQL with
//! `$BENCH_DATABASE_URL`.

use std::time::{Duration, Instant};

#[path = "support.rs"]
mod support;
use secrecy::SecretString;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let server = support::Server::start(n, "a", "target/release/sesame");
    let base = server.base.clone();

    // The Argon2 work of one activation, alone: two hashes with the server's parameters, timed
    // right after each activation so that both see the same machine.
    let hasher = sesame::hashing::Hasher::owasp();
    let mut hashing = Vec::with_capacity(n);
    let mut activations = Vec::with_capacity(n);
    // The same two hashes as the server timed them during each activation: a second yardstick,
    // immune to this process's hashes running on a slower core than the server's.
    let mut in_server = Vec::with_capacity(n);
    let mut steps = vec![Vec::with_capacity(n); support::STEPS.len()];
    for i in 0..n {
        let client = support::browser();
        let id = format!("A{i}");
        let password = format!("Mesure-Vélo-{i}-Lune!");
        let in_server_before = support::argon2_seconds(&base).await;
        let start = Instant::now();
        let times = support::activate(&client, &base, &id, &password).await.unwrap_or_else(|(path, status)| {
            panic!("{path}: {status}");
        });
        activations.push(start.elapsed());
        in_server.push(Duration::from_secs_f64(support::argon2_seconds(&base).await - in_server_before));
        for (step, time) in steps.iter_mut().zip(times) {
            step.push(time);
        }
        let start = Instant::now();
        hasher.hash(&SecretString::from(format!("rantanplan{i}"))).await.unwrap();
        hasher.hash(&SecretString::from(format!("Mesure-Vélo-{i}-Lune!"))).await.unwrap();
        hashing.push(start.elapsed());
    }
    let served_routes = support::server_time_by_route(&base).await;
    let store = server.store;
    server.stop();
    let (whole, argon2) = (median(activations), median(hashing));
    println!("store: {store}");
    println!("one activation over HTTP (11 requests), median of {n}: {:.1} ms", whole.as_secs_f64() * 1000.0);
    println!("its Argon2 work alone (2 hashes), median of {n}: {:.1} ms", argon2.as_secs_f64() * 1000.0);
    println!("ratio: {:.2} (target ≤ 1.3)", whole.as_secs_f64() / argon2.as_secs_f64());
    let served = median(in_server);
    println!(
        "the same hashes inside the server, median: {:.1} ms; activation ÷ those: {:.2}",
        served.as_secs_f64() * 1000.0,
        whole.as_secs_f64() / served.as_secs_f64()
    );
    let medians: Vec<String> = support::STEPS
        .iter()
        .zip(steps)
        .map(|(name, times)| format!("{name} {:.1}", median(times).as_secs_f64() * 1000.0))
        .collect();
    println!("median of each step, ms (question and password each include one hash): {}", medians.join(", "));
    println!("mean time inside the server per request, ms: {}", served_routes.join(", "));
}
