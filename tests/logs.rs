//! The real binary's JSON logs: one JSON object per line, each request's lines tied by its id.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let vars = [("DATABASE_URL", db.as_str()), ("SESAME_LOG_FORMAT", "json"), ("RUST_LOG", "info,tower_http=debug")];
    let (mut child, addr) = common::serve_binary(dir.path(), &vars);
    let res = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    common::terminate(&mut child);
    let logs = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    let lines: Vec<serde_json::Value> =
        logs.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let ours: Vec<&serde_json::Value> = lines.iter().filter(|l| l["span"]["request_id"] == id.as_str()).collect();
    assert!(!ours.is_empty(), "{logs}");
    assert!(ours.iter().all(|l| l["span"]["path"] == "/readyz"));
}
