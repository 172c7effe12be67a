//! The real binary's JSON logs: one JSON object per line, each request's lines tied by its id.

mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("s.db").display()))
        .env("SESAME_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let addr = first.split_whitespace().find_map(|w| w.parse::<std::net::SocketAddr>().ok()).expect(&first);
    let res = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let logs = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    let lines: Vec<serde_json::Value> =
        logs.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let ours: Vec<&serde_json::Value> = lines.iter().filter(|l| l["span"]["request_id"] == id.as_str()).collect();
    assert!(!ours.is_empty(), "{logs}");
    assert!(ours.iter().all(|l| l["span"]["path"] == "/readyz"));
}
