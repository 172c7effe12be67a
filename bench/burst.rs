//! Benchmark: N activations reach the password step, then all N password posts arrive at once.
//! Prints the time the burst took, the answers, and the server's peak resident memory.
//!
//! Run: `cargo run --example burst [N]` (default 500). It starts `target/debug/sesame serve`
//! (or `$SESAME_BIN`) on a fresh SQLite file, or on PostgreSQL when `$BENCH_DATABASE_URL` is set.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use support::{csrf, post};

#[path = "support.rs"]
mod support;

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let server = support::Server::start(n, "b", "target/debug/sesame");
    let base = Arc::new(server.base.clone());
    let pid = server.process.id();

    // Every person up to the password step, 16 at a time.
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    let mut ready = tokio::task::JoinSet::new();
    for i in 0..n {
        let (base, limit) = (base.clone(), limit.clone());
        ready.spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let client = support::browser();
            let id = format!("B{i}");
            let m = "/activate/identify?method=staff_number";
            assert_eq!(
                post(
                    &client,
                    &base,
                    m,
                    &[("method", "staff_number"), ("identifier", &id), ("birth_date", "01/01/1980")]
                )
                .await,
                StatusCode::SEE_OTHER
            );
            assert_eq!(
                post(&client, &base, "/activate/question", &[("question", "first_pet"), ("answer", "Rantanplan")])
                    .await,
                StatusCode::SEE_OTHER
            );
            assert_eq!(post(&client, &base, "/activate/sms", &[("sms_consent", "no")]).await, StatusCode::SEE_OTHER);
            assert_eq!(
                post(&client, &base, "/activate/photo", &[("photo_consent", "no")]).await,
                StatusCode::SEE_OTHER
            );
            let page = client.get(format!("{base}/activate/password")).send().await.unwrap().text().await.unwrap();
            (client, csrf(&page))
        });
    }
    let mut sessions = Vec::with_capacity(n);
    while let Some(done) = ready.join_next().await {
        sessions.push(done.unwrap());
    }
    let prepared = started.elapsed();
    let before = rss_kib(pid, "VmRSS:");

    // The burst: every password post at once, memory sampled meanwhile.
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let peak = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid, "VmRSS:"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            peak
        })
    };
    let burst = Instant::now();
    let mut posts = tokio::task::JoinSet::new();
    for (i, (client, token)) in sessions.into_iter().enumerate() {
        let base = base.clone();
        posts.spawn(async move {
            let password = format!("Burst-Vélo-{i}-Lune!");
            let fields = [
                ("csrf_token", token.as_str()),
                ("password", &password),
                ("password_confirm", &password),
                ("accept_rules", "on"),
            ];
            client.post(format!("{base}/activate/password")).form(&fields).send().await.map(|r| r.status())
        });
    }
    let mut by_status = std::collections::BTreeMap::new();
    while let Some(done) = posts.join_next().await {
        let key = match done.unwrap() {
            Ok(s) => s.as_u16().to_string(),
            Err(e) => format!("error: {e}"),
        };
        *by_status.entry(key).or_insert(0) += 1;
    }
    let burst_time = burst.elapsed();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let peak = peak.await.unwrap();
    let hwm = rss_kib(pid, "VmHWM:");
    let store = server.store;
    server.stop();

    println!("store: {store}");
    println!("{n} wizards brought to the password step in {:.1} s", prepared.as_secs_f64());
    println!(
        "{n} simultaneous password posts answered in {:.1} s ({:.1} activations/s)",
        burst_time.as_secs_f64(),
        n as f64 / burst_time.as_secs_f64()
    );
    println!("answers: {by_status:?}");
    println!(
        "server RSS before the burst: {:.1} MiB; peak during it: {:.1} MiB; VmHWM over the whole run: {:.1} MiB",
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
}
