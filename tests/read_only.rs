//! A SQLite file that may not be written, then may again. Alone in its binary: SQLite shares
//! open files between the connections of a process, and a file another test left open could
//! lend this one a writable descriptor.

mod common;

use std::time::{Duration, Instant};

use common::drill::{PEOPLE, assert_styled_503, identification};
use common::{spawn_app, test_config};
use reqwest::StatusCode;

/// Makes `path` read-only or writable again: by its immutable attribute, which binds root too,
/// where the file system has one; else by its permission bits.
fn write_protect(path: &std::path::Path, on: bool) {
    let flag = if on { "+i" } else { "-i" };
    let chattr = std::process::Command::new("chattr").arg(flag).arg(path).output();
    if !chattr.is_ok_and(|out| out.status.success()) {
        let mut permissions = std::fs::metadata(path).unwrap().permissions();
        permissions.set_readonly(on);
        std::fs::set_permissions(path, permissions).unwrap();
    }
}

/// SQLite opens a file it may not write read-only, silently: forms then answer the styled 503
/// with Retry-After, /readyz says not ready, and once the file may be written again the same
/// process writes within seconds. Before, the read-only connections stayed in the pool for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_recovers_by_itself_once_its_file_may_be_written_again() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sesame.db");
    let url = format!("sqlite://{}", file.display());
    // Made by another process: a descriptor this one had opened on the file, writable, could
    // be lent by SQLite to a connection opened after the file became read-only.
    std::fs::write(dir.path().join("people.csv"), PEOPLE).unwrap();
    let import = std::process::Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["import", "people.csv"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(import.status.success(), "{import:?}");

    write_protect(&file, true);
    let app = spawn_app(test_config(&url), sesame::store::connect(&url).await.unwrap()).await;
    let (status, body, _) = identification(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_styled_503(&body);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "a read-only file is not ready");

    write_protect(&file, false);
    let fixed = Instant::now();
    loop {
        let (status, location, _) = identification(&app).await;
        if status == StatusCode::SEE_OTHER {
            break;
        }
        assert!(fixed.elapsed() < Duration::from_secs(10), "still failing: {status} {location}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for _ in 0..10 {
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), StatusCode::OK, "a connection still read-only");
    }
}
