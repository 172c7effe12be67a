//! Benchmark: N activations reach the password step, then all N password posts arrive at once.
//! Prints the time the burst took, the answers, and the server's peak resident memory.
//!
//! Run: `cargo run --example burst [N]` (default 500). It starts `target/debug/sesame serve`
//! (or `$SESAME_BIN`) on a fresh SQLite file, or on PostgreSQL when `$BENCH_DATABASE_URL` is set.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};

fn csrf(body: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("form") + marker.len();
    body[start..].split('"').next().unwrap_or_default().to_string()
}

async fn post(client: &Client, base: &str, path: &str, fields: &[(&str, &str)]) -> StatusCode {
    let page = client.get(format!("{base}{path}")).send().await.unwrap().text().await.unwrap();
    let token = csrf(&page);
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    client.post(format!("{base}{path}")).form(&all).send().await.unwrap().status()
}

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
    let bin = std::env::var("SESAME_BIN").unwrap_or_else(|_| "target/debug/sesame".into());
    let bin = std::fs::canonicalize(&bin).unwrap_or_else(|e| panic!("{bin}: {e} (run cargo build first)"));
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let mut csv = String::from("uid,category,given_name,family_name,birth_date,staff_number\n");
    for i in 0..n {
        csv.push_str(&format!("b{i},staff,Prénom{i},Nom{i},01/01/1980,B{i}\n"));
    }
    std::fs::write(dir.path().join("people.csv"), csv).unwrap();
    let status = Command::new(&bin)
        .args(["import", "people.csv"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &url)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "import failed");

    let mut server = Command::new(&bin)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &url)
        .env("SESAME_COOKIE_SECURE", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split_whitespace().find(|w| w.parse::<std::net::SocketAddr>().is_ok()).unwrap().to_string();
    let base = Arc::new(format!("http://{addr}"));
    let pid = server.id();

    // Every person up to the password step, 16 at a time.
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    let mut ready = tokio::task::JoinSet::new();
    for i in 0..n {
        let (base, limit) = (base.clone(), limit.clone());
        ready.spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let client =
                Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
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
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = server.wait();

    println!("store: {}", if url.starts_with("sqlite") { "sqlite" } else { "postgres" });
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
