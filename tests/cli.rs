//! The built binary: exit codes and output of `import`, `migrate`, the help-desk commands and
//! configuration errors.

mod common;

use std::process::{Command, Output};

use common::TestStore;
use sesame::domain::identifiers::{IdentificationMethod, Identifier};
use sesame::domain::throttle::{self, ThrottleRule};
use sesame::store::{Activation, AuditEvent, NewAccount, NewMail, PersonRecord, Store};
use time::{Duration, OffsetDateTime};

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

async fn import_reports_each_rejected_line_and_keeps_the_good_ones(t: TestStore) {
    let url = t.url.clone();
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

async fn unusable_files_exit_2_and_write_nothing(t: TestStore) {
    let url = t.url.clone();
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

const TWO_PEOPLE: &str = "uid,category,given_name,family_name,birth_date,staff_number
100001,staff,Élodie,Le Bœuf,14/07/1985,12345
100002,student,Jean,Dupont,01/02/2001,
";

const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$cGFzc3dvcmRoYXNo";
const ANSWER_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$YW5zd2VyaGFzaA";

/// Élodie (staff number 12345) and Jean imported by the binary; Élodie activated through the
/// store with an SMS number. Returns the folder holding the CSV, and Élodie.
async fn two_people_one_activated(t: &TestStore) -> (tempfile::TempDir, PersonRecord) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("people.csv"), TWO_PEOPLE).unwrap();
    assert_eq!(sesame(&["import", "people.csv"], &t.url, dir.path()).status.code(), Some(0));
    let elodie = t.store.find_by_login("elodie.leboeuf").await.unwrap().expect("imported");
    let (account, audit, mail) = activation(&elodie, PASSWORD_HASH);
    assert_eq!(t.store.activate(&account, 3, &audit, &mail).await.unwrap(), Activation::Activated);
    (dir, elodie)
}

/// What the wizard hands the store for Élodie with this password hash.
fn activation(elodie: &PersonRecord, password_hash: &str) -> (NewAccount, AuditEvent, NewMail) {
    let now = OffsetDateTime::now_utc();
    let account = NewAccount {
        person_id: elodie.id,
        password_hash: password_hash.into(),
        question_id: "first_pet".into(),
        custom_question: None,
        answer_hash: ANSWER_HASH.into(),
        phone: Some("+33612345678".into()),
        sms_consent_at: now,
        photo_consent: false,
        photo_consent_at: now,
        rules_version: "2026-1".into(),
        at: now,
    };
    let audit = AuditEvent {
        kind: "activated",
        actor: elodie.login.clone(),
        person_id: Some(elodie.id),
        client_addr: Some("192.0.2.7".into()),
        detail: "rules=2026-1".into(),
        at: now,
    };
    let mail = NewMail {
        kind: "activated",
        recipient: elodie.email.clone(),
        subject: "Compte activé".into(),
        body_text: "Bienvenue".into(),
    };
    (account, audit, mail)
}

/// The standard output of the binary, which must exit 0.
fn run_ok(args: &[&str], t: &TestStore, dir: &tempfile::TempDir) -> String {
    let out = sesame(args, &t.url, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stdout}{stderr}");
    stdout
}

async fn account_show_finds_a_person_by_any_id_and_never_prints_a_hash(t: TestStore) {
    let (dir, _) = two_people_one_activated(&t).await;
    for id in ["elodie.leboeuf", "100001", "12345", "Elodie.LeBoeuf@example.edu"] {
        let shown = run_ok(&["account", "show", id], &t, &dir);
        for expected in ["elodie.leboeuf", "100001", "Le Bœuf", "12345", "activated at", "+33 6 •• •• •• 78"]
        {
            assert!(shown.contains(expected), "{id}: {expected} missing from {shown}");
        }
        assert!(shown.contains("activated") && shown.contains("192.0.2.7"), "{id}: the latest events: {shown}");
        for secret in ["$argon2", "c2FsdHNhbHQ", "612345678"] {
            assert!(!shown.contains(secret), "{id}: {secret} printed: {shown}");
        }
    }
    let jean = run_ok(&["account", "show", "jean.dupont"], &t, &dir);
    assert!(jean.contains("not activated") && !jean.contains("elodie"), "{jean}");

    let out = sesame(&["account", "show", "nobody.there"], &t.url, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("nobody.there"), "{stderr}");
}

async fn a_helpdesk_disable_survives_the_next_import(t: TestStore) {
    let (dir, elodie) = two_people_one_activated(&t).await;
    assert!(run_ok(&["account", "disable", "12345"], &t, &dir).contains("elodie.leboeuf is disabled"));
    let disabled = t.store.person(elodie.id).await.unwrap().unwrap();
    assert_eq!((disabled.status.as_str(), disabled.disabled_by.as_deref()), ("disabled", Some("helpdesk")));
    let again = run_ok(&["import", "people.csv"], &t, &dir);
    assert!(again.contains("0 rejected"), "{again}");
    let after = t.store.person(elodie.id).await.unwrap().unwrap();
    assert!(!after.is_active(), "the import re-enabled a person the help desk disabled");
    assert!(run_ok(&["account", "disable", "elodie.leboeuf"], &t, &dir).contains("already disabled"));
}

async fn each_activation_keeps_exactly_the_history_depth(t: TestStore) {
    let (_dir, elodie) = two_people_one_activated(&t).await;
    let reset = AuditEvent { kind: "reset", detail: String::new(), ..activation(&elodie, "").1 };
    for n in 1..=4 {
        assert!(t.store.reset_account(elodie.id, &reset).await.unwrap());
        let (account, audit, mail) = activation(&elodie, &format!("hash-{n}"));
        assert_eq!(t.store.activate(&account, 3, &audit, &mail).await.unwrap(), Activation::Activated);
        assert_eq!(t.store.activate(&account, 3, &audit, &mail).await.unwrap(), Activation::AlreadyActive);
    }
    let kept = t.store.password_history(elodie.id, 10).await.unwrap();
    assert_eq!(kept, ["hash-4", "hash-3", "hash-2"], "the newest three, newest first");
    assert!(t.store.reset_account(elodie.id, &reset).await.unwrap());
    let (account, audit, mail) = activation(&elodie, "hash-5");
    assert_eq!(t.store.activate(&account, 1, &audit, &mail).await.unwrap(), Activation::Activated);
    assert_eq!(t.store.password_history(elodie.id, 10).await.unwrap(), ["hash-5"], "a depth of one keeps only the new");
}

async fn reset_deletes_the_account_and_keeps_the_password_history(t: TestStore) {
    let (dir, elodie) = two_people_one_activated(&t).await;
    assert!(t.store.has_account(elodie.id).await.unwrap());
    let said = run_ok(&["account", "reset", "elodie.leboeuf"], &t, &dir);
    assert!(said.contains("can activate again"), "{said}");
    assert!(!t.store.has_account(elodie.id).await.unwrap(), "the account is gone");
    assert_eq!(t.store.password_history(elodie.id, 3).await.unwrap(), vec![PASSWORD_HASH.to_string()]);
    assert!(t.store.person(elodie.id).await.unwrap().unwrap().is_active(), "the status is unchanged");
    assert!(run_ok(&["account", "show", "elodie.leboeuf"], &t, &dir).contains("not activated"));
    assert!(run_ok(&["account", "reset", "elodie.leboeuf"], &t, &dir).contains("no account to reset"));
}

/// Fails `key` as often as `rule` allows, so that it is locked.
async fn lock(store: &dyn Store, key: &str, rule: &ThrottleRule) {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for _ in 0..rule.limit {
        store.throttle_failure(key, now, rule).await.unwrap();
    }
    assert!(store.throttle_locked_until(key, now).await.unwrap().is_some(), "{key} is locked");
}

async fn unlock_lifts_sign_in_recovery_and_identification_locks(t: TestStore) {
    let (dir, elodie) = two_people_one_activated(&t).await;
    let staff = Identifier::parse(IdentificationMethod::StaffNumber, "12345").unwrap();
    let keys = [
        (throttle::sign_in_key("elodie.leboeuf"), throttle::SIGN_IN),
        (throttle::sign_in_key("elodie.leboeuf@example.edu"), throttle::SIGN_IN),
        (throttle::recovery_key(elodie.id), throttle::RECOVERY_ANSWER),
        (throttle::identifier_key(&staff), throttle::IDENTIFIER),
    ];
    for (key, rule) in &keys {
        lock(t.store.as_ref(), key, rule).await;
    }
    let shown = run_ok(&["account", "show", "elodie.leboeuf"], &t, &dir);
    for what in ["sign-in", "recovery", "identification by staff_number"] {
        assert!(shown.contains(what) && shown.contains("locked until"), "{what}: {shown}");
    }
    let said = run_ok(&["account", "unlock", "100001"], &t, &dir);
    assert!(said.contains("4 failure counter(s) cleared"), "{said}");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for (key, _) in &keys {
        assert_eq!(t.store.throttle_locked_until(key, now).await.unwrap(), None, "{key} is still locked");
    }
    assert!(!run_ok(&["account", "show", "elodie.leboeuf"], &t, &dir).contains("locked until"));
}

/// The cells of the first line of `out` that starts with `first`.
fn row(out: &str, first: &str) -> Vec<String> {
    let line = out.lines().find(|l| l.split_whitespace().next() == Some(first)).unwrap_or_else(|| panic!("{out}"));
    line.split_whitespace().map(str::to_string).collect()
}

async fn stats_count_people_and_activations_per_category_and_day(t: TestStore) {
    let (dir, _) = two_people_one_activated(&t).await;
    let stats = run_ok(&["stats"], &t, &dir);
    assert_eq!(row(&stats, "staff"), ["staff", "1", "1", "100%"], "{stats}");
    assert_eq!(row(&stats, "student"), ["student", "1", "0", "0%"], "{stats}");
    assert_eq!(row(&stats, "external"), ["external", "0", "0", "-"], "{stats}");
    assert_eq!(row(&stats, "total"), ["total", "2", "1", "50%"], "{stats}");
    let today = OffsetDateTime::now_utc().date();
    assert_eq!(row(&stats, &today.to_string()), [today.to_string(), "1".into()], "{stats}");
    let yesterday = today - Duration::days(1);
    assert_eq!(row(&stats, &yesterday.to_string()), [yesterday.to_string(), "0".into()], "{stats}");
    let total_over_days = stats.lines().rev().find(|l| l.starts_with("total")).unwrap();
    assert_eq!(total_over_days.split_whitespace().collect::<Vec<_>>(), ["total", "1"], "{stats}");
}

/// The kinds of an audit table, top to bottom.
fn kinds(out: &str) -> Vec<String> {
    out.lines().skip(1).map(|l| l.split_whitespace().nth(2).unwrap_or_default().to_string()).collect()
}

async fn audit_for_a_person_lists_the_helpdesk_events_newest_first(t: TestStore) {
    let (dir, _) = two_people_one_activated(&t).await;
    for (action, id) in
        [("unlock", "elodie.leboeuf"), ("disable", "jean.dupont"), ("disable", "12345"), ("reset", "100001")]
    {
        run_ok(&["account", action, id], &t, &dir);
    }
    let trail = run_ok(&["audit", "--person", "elodie.leboeuf"], &t, &dir);
    assert!(trail.starts_with("time (UTC)"), "{trail}");
    assert_eq!(kinds(&trail), ["helpdesk_reset", "helpdesk_disable", "helpdesk_unlock", "activated"], "{trail}");
    assert!(trail.lines().skip(1).all(|l| l.contains(" cli ") || l.contains("192.0.2.7")), "{trail}");
    let everyone = run_ok(&["audit"], &t, &dir);
    assert_eq!(kinds(&everyone).len(), 6, "Jean's event and the import's too: {everyone}");
    assert!(everyone.contains("jean.dupont"), "{everyone}");
    let out = sesame(&["audit", "--limit", "1"], &t.url, dir.path());
    assert_eq!(kinds(&text(&out).0), ["helpdesk_reset"]);
    let out = sesame(&["audit", "--person", "nobody.there"], &t.url, dir.path());
    assert_eq!(out.status.code(), Some(1));
}

async fn audit_since_a_day_starts_at_its_first_instant(t: TestStore) {
    let (dir, elodie) = two_people_one_activated(&t).await;
    let day = time::macros::datetime!(2026-01-10 00:00 UTC);
    for (detail, at) in
        [("just-before", day - Duration::milliseconds(500)), ("just-after", day + Duration::milliseconds(500))]
    {
        let event = AuditEvent {
            kind: "probe",
            actor: "test".into(),
            person_id: Some(elodie.id),
            client_addr: None,
            detail: detail.into(),
            at,
        };
        t.store.audit(&event).await.unwrap();
    }
    for since in ["2026-01-10", "10/01/2026"] {
        let trail = run_ok(&["audit", "--since", since], &t, &dir);
        assert!(trail.contains("just-after") && trail.contains("2026-01-10 00:00:00"), "{since}: {trail}");
        assert!(!trail.contains("just-before"), "{since}: {trail}");
    }
    let hers = run_ok(&["audit", "--person", "elodie.leboeuf", "--since", "2026-01-10"], &t, &dir);
    assert!(hers.contains("just-after") && !hers.contains("just-before"), "{hers}");
    let his = run_ok(&["audit", "--person", "jean.dupont", "--since", "2026-01-10"], &t, &dir);
    assert!(!his.contains("just-after"), "both filters at once: {his}");
    let future = (OffsetDateTime::now_utc().date() + Duration::days(2)).to_string();
    assert_eq!(run_ok(&["audit", "--since", &future], &t, &dir).lines().count(), 1, "only the header");
    let out = sesame(&["audit", "--since", "31/02/2026"], &t.url, dir.path());
    assert_eq!(out.status.code(), Some(2), "a date that does not exist is refused");
}

on_both_stores!(
    import_reports_each_rejected_line_and_keeps_the_good_ones,
    unusable_files_exit_2_and_write_nothing,
    account_show_finds_a_person_by_any_id_and_never_prints_a_hash,
    a_helpdesk_disable_survives_the_next_import,
    reset_deletes_the_account_and_keeps_the_password_history,
    each_activation_keeps_exactly_the_history_depth,
    unlock_lifts_sign_in_recovery_and_identification_locks,
    stats_count_people_and_activations_per_category_and_day,
    audit_for_a_person_lists_the_helpdesk_events_newest_first,
    audit_since_a_day_starts_at_its_first_instant,
);

/// Upgrading a database where two people share an address written in other letters stops at
/// migration 0006 with one line naming them; once one has another address, it goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_names_people_sharing_a_mailbox() {
    let t = common::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let pool = sqlx::PgPool::connect(&t.url).await.expect("connect");
    sqlx::raw_sql(
        "DROP INDEX people_email_lower; CREATE INDEX people_email_lower ON people (lower(email)); \
         ALTER TABLE people ADD CONSTRAINT people_email_key UNIQUE (email); \
         DELETE FROM _sqlx_migrations WHERE version = 6; \
         INSERT INTO people (uid, category, given_name, family_name, birth_date, email, login, created_at, updated_at) \
         VALUES ('d1', 'staff', 'Marie', 'Curie', '1980-01-01', 'Marie.Curie@univ.fr', 'marie.curie', now(), now()), \
                ('d2', 'staff', 'Marie', 'Curie', '1981-01-01', 'marie.curie@univ.fr', 'marie.curie2', now(), now())",
    )
    .execute(&pool)
    .await
    .expect("the schema as migration 0005 left it, with a shared mailbox");
    let out = sesame(&["migrate"], &t.url, dir.path());
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("marie.curie@univ.fr (uids d1, d2); give each one its own address"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    sqlx::query("UPDATE people SET email = 'm.curie@univ.fr' WHERE uid = 'd2'").execute(&pool).await.unwrap();
    let out = sesame(&["migrate"], &t.url, dir.path());
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let unique: bool =
        sqlx::query_scalar("SELECT indisunique FROM pg_index WHERE indexrelid = 'people_email_lower'::regclass")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(unique);
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

/// `sesame serve` on SQLite in `dir`, with Élodie imported and `vars` on top.
async fn served_with_elodie(dir: &std::path::Path, vars: &[(&str, &str)]) -> (std::process::Child, common::TestApp) {
    let url = format!("sqlite://{}", dir.join("s.db").display());
    std::fs::write(
        dir.join("p.csv"),
        "uid,category,given_name,family_name,birth_date,staff_number\n100001,staff,Élodie,Le Bœuf,14/07/1985,12345\n",
    )
    .unwrap();
    assert_eq!(sesame(&["import", "p.csv"], &url, dir).status.code(), Some(0));
    let mut all = vec![("DATABASE_URL", url.as_str())];
    all.extend_from_slice(vars);
    let (child, addr) = common::serve_binary(dir, &all);
    let store = sesame::store::connect(&url).await.unwrap();
    (child, common::TestApp { addr, client: common::browser(), store })
}

/// The file's passwords are refused, plain or as SHA-1; a missing file stops start-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_the_passwords_of_the_weak_passwords_file() {
    use common::journey::{GOOD_PASSWORD, post, up_to_password};
    let dir = tempfile::tempdir().unwrap();
    // SHA-1 of « Orage-Bleu-Matin-73 », as breached-password corpora publish it.
    let weak = format!("{GOOD_PASSWORD}\n3ACBAC9365B0EEA89D9CD5FCE630A9576F2D149F:3\n");
    std::fs::write(dir.path().join("weak.txt"), weak).unwrap();
    let (mut child, app) = served_with_elodie(dir.path(), &[("SESAME_WEAK_PASSWORDS_FILE", "weak.txt")]).await;
    up_to_password(&app.client, &app).await;
    for (password, refused) in [(GOOD_PASSWORD, true), ("Orage-Bleu-Matin-73", true), ("Plume-Verte-Soir-58", false)] {
        let fields = [("password", password), ("password_confirm", password), ("accept_rules", "on")];
        let (status, _, body) = post(&app.client, &app, "/activate/password", "/activate/password", &fields).await;
        assert_eq!(status == reqwest::StatusCode::UNPROCESSABLE_ENTITY, refused, "{password}");
        assert_eq!(body.contains("liste des mots de passe refusés"), refused, "{password}");
    }
    common::terminate(&mut child);
    let mut missing = std::process::Command::new(env!("CARGO_BIN_EXE_sesame"));
    let out = missing.args(["serve"]).env("SESAME_WEAK_PASSWORDS_FILE", "/nonexistent/weak.txt").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SESAME_WEAK_PASSWORDS_FILE"));
}

/// A whole activation against the real binary: nothing secret may reach its logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_no_password_answer_birth_date_or_phone() {
    use common::journey::{GOOD_PASSWORD, post, up_to_password};
    let dir = tempfile::tempdir().unwrap();
    let (mut child, app) = served_with_elodie(dir.path(), &[("RUST_LOG", "debug")]).await;
    up_to_password(&app.client, &app).await;
    let fields = [("password", GOOD_PASSWORD), ("password_confirm", GOOD_PASSWORD), ("accept_rules", "on")];
    let (status, _, _) = post(&app.client, &app, "/activate/password", "/activate/password", &fields).await;
    assert_eq!(status, reqwest::StatusCode::SEE_OTHER);
    common::terminate(&mut child);
    let logs = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(logs.contains("account activated"), "the test reads real logs: {logs}");
    for secret in [GOOD_PASSWORD, "Crème", "creme brulee", "14/07/1985", "1985-07-14", "12 34 56", "612345678"] {
        assert!(!logs.to_lowercase().contains(&secret.to_lowercase()), "{secret} leaked into the logs");
    }
}
