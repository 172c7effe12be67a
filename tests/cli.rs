//! The built binary: exit codes and output of `import`, `migrate` and configuration errors.

mod common;

use std::process::{Command, Output};

const CSV: &str = "uid,category,given_name,family_name,birth_date,staff_number
u1,staff,Élodie,Le Bœuf,14/07/1985,12345
u2,staff,Jean,Dupont,31/02/1990,
u3,boss,Ana,Lima,01/01/1990,
u4,staff,Léa,Roux,01/01/1990,777
";

fn sesame(args: &[&str], database_url: &str, dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run sesame")
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn import_reports_each_rejected_line_and_keeps_the_good_ones(url: String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("people.csv"), CSV).unwrap();
    let out = sesame(&["import", "people.csv"], &url, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("line 3: rejected: birth_date"), "{stdout}");
    assert!(stdout.contains("line 4: rejected: category"), "{stdout}");
    assert!(
        stdout.contains("4 lines read: 2 accepted (2 created, 0 updated, 0 unchanged), 2 rejected; 0 disabled"),
        "{stdout}"
    );

    let good: String =
        CSV.lines().enumerate().filter(|(i, _)| *i != 2 && *i != 3).map(|(_, l)| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("good.csv"), good).unwrap();
    let out = sesame(&["import", "good.csv", "--dry-run"], &url, dir.path());
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("2 accepted (0 created, 0 updated, 2 unchanged)"), "{stdout}");
    assert!(stdout.contains("dry run: nothing was written"), "{stdout}");
}

async fn unusable_files_exit_2_and_write_nothing(url: String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nocols.csv"), "uid,category\nu1,staff\n").unwrap();
    std::fs::write(
        dir.path().join("latin1.csv"),
        b"uid,category,given_name,family_name,birth_date\nu1,staff,\xC9lodie,B,1980-01-01\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("empty.csv"), "").unwrap();
    for (file, says) in [
        ("nocols.csv", "given_name, family_name, birth_date"),
        ("latin1.csv", "not UTF-8"),
        ("empty.csv", "header"),
        ("absent.csv", "cannot read"),
    ] {
        let out = sesame(&["import", file], &url, dir.path());
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{file}: {stdout}{stderr}");
        assert!(stderr.contains(says), "{file}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
}

mod sqlite {
    #[tokio::test]
    async fn import_reports_each_rejected_line_and_keeps_the_good_ones() {
        let t = crate::common::sqlite().await;
        super::import_reports_each_rejected_line_and_keeps_the_good_ones(t.url.clone()).await;
    }
    #[tokio::test]
    async fn unusable_files_exit_2_and_write_nothing() {
        let t = crate::common::sqlite().await;
        super::unusable_files_exit_2_and_write_nothing(t.url.clone()).await;
    }
}

mod postgres {
    #[tokio::test]
    async fn import_reports_each_rejected_line_and_keeps_the_good_ones() {
        let t = crate::common::postgres().await;
        super::import_reports_each_rejected_line_and_keeps_the_good_ones(t.url.clone()).await;
    }
    #[tokio::test]
    async fn unusable_files_exit_2_and_write_nothing() {
        let t = crate::common::postgres().await;
        super::unusable_files_exit_2_and_write_nothing(t.url.clone()).await;
    }
}

#[test]
fn a_bad_variable_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["migrate"])
        .current_dir(dir.path())
        .env("SESAME_BIND", "nowhere")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(stderr.trim(), "error: SESAME_BIND: 'nowhere' is not an address:port such as 127.0.0.1:8080");
}

#[test]
fn an_unreachable_database_is_one_clear_line_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = sesame(&["migrate"], "postgres://nobody:secret@127.0.0.1:1/none", dir.path());
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("error: cannot connect to the database postgres://nobody:***@127.0.0.1:1/none"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret") && !stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn migrate_creates_a_missing_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = sesame(&["migrate"], "sqlite://fresh.db", dir.path());
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(dir.path().join("fresh.db").exists());
}

/// A whole activation against the real binary: nothing secret may reach its logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_no_password_answer_birth_date_or_phone() {
    use common::journey::{GOOD_PASSWORD, post, up_to_password};
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    std::fs::write(
        dir.path().join("p.csv"),
        "uid,category,given_name,family_name,birth_date,staff_number\n100001,staff,Élodie,Le Bœuf,14/07/1985,12345\n",
    )
    .unwrap();
    assert_eq!(sesame(&["import", "p.csv"], &url, dir.path()).status.code(), Some(0));
    let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &url)
        .env("SESAME_COOKIE_SECURE", "false")
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let addr = first.split_whitespace().find_map(|w| w.parse::<std::net::SocketAddr>().ok()).expect(&first);
    let store = sesame::store::connect(&url).await.unwrap();
    let app = common::TestApp { addr, client: common::browser(), store };
    up_to_password(&app.client, &app).await;
    let fields = [("password", GOOD_PASSWORD), ("password_confirm", GOOD_PASSWORD), ("accept_rules", "on")];
    let (status, _, _) = post(&app.client, &app, "/activate/password", "/activate/password", &fields).await;
    assert_eq!(status, reqwest::StatusCode::SEE_OTHER);
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let logs = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(logs.contains("account activated"), "the test reads real logs: {logs}");
    for secret in [GOOD_PASSWORD, "Crème", "creme brulee", "14/07/1985", "1985-07-14", "12 34 56", "612345678"] {
        assert!(!logs.to_lowercase().contains(&secret.to_lowercase()), "{secret} leaked into the logs");
    }
}
