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
