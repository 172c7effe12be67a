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
        stdout.contains("4 lines read: 2 accepted (2 created, 0 updated, 0 unchanged), 2 rejected; 0 people disabled"),
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
    assert!(text(&out).1.is_empty(), "no progress and no note when the output is not a terminal");
}

const FOUR_PEOPLE: &str = "uid,category,given_name,family_name,birth_date
p1,staff,Ana,Lima,01/01/1990
p2,staff,Bob,Lima,01/01/1990
p3,staff,Cléo,Lima,01/01/1990
p4,staff,Dan,Lima,01/01/1990
";

/// How many of the store's people are active.
async fn active(t: &TestStore) -> usize {
    let people = t.store.existing_people().await.unwrap();
    people.iter().filter(|p| p.disabled_by.is_none()).count()
}

/// The cron-safety guard: a header alone, or a file missing half the people, writes nothing
/// (exit 2) and says how to force; the forced run then disables them.
async fn disable_missing_refuses_what_looks_like_a_broken_export(t: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("all.csv"), FOUR_PEOPLE).unwrap();
    run_ok(&["import", "all.csv"], &t, &dir);
    std::fs::write(dir.path().join("header.csv"), FOUR_PEOPLE.lines().next().unwrap()).unwrap();
    let half: String = FOUR_PEOPLE.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("half.csv"), half).unwrap();

    for args in [
        &["import", "header.csv", "--disable-missing"][..],
        &["import", "header.csv", "--disable-missing", "--max-disable", "100%"],
    ] {
        let out = sesame(args, &t.url, dir.path());
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stdout.contains("0 lines read") && stdout.contains("4 people would be disabled (refused"), "{stdout}");
        assert!(stderr.contains("no data line") && stderr.contains("always refused"), "{stderr}");
    }
    let out = sesame(&["import", "half.csv", "--disable-missing"], &t.url, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("would disable 2 people of 4 active, more than --max-disable 5% allows (0)"), "{stderr}");
    assert!(stderr.trim_end().ends_with("run again with --max-disable 2"), "{stderr}");
    assert_eq!(active(&t).await, 4, "nothing was written");

    let dry = sesame(&["import", "half.csv", "--disable-missing", "--dry-run"], &t.url, dir.path());
    let (stdout, stderr) = text(&dry);
    assert_eq!(dry.status.code(), Some(2), "a dry run tells what the real run would do: {stdout}{stderr}");
    assert!(stdout.contains("2 people would be disabled"), "{stdout}");
    let dry =
        sesame(&["import", "half.csv", "--disable-missing", "--dry-run", "--max-disable", "2"], &t.url, dir.path());
    let (stdout, _) = text(&dry);
    assert_eq!(dry.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("2 people would be disabled (dry run: nothing was written)"), "{stdout}");
    assert_eq!(active(&t).await, 4);

    let forced = run_ok(&["import", "half.csv", "--disable-missing", "--max-disable", "2"], &t, &dir);
    assert!(forced.contains("2 lines read: 2 accepted") && forced.contains("; 2 people disabled"), "{forced}");
    assert_eq!(active(&t).await, 2);
    let back = run_ok(&["import", "all.csv", "--disable-missing"], &t, &dir);
    assert!(back.contains("0 people disabled"), "nobody missing, nothing refused: {back}");
    assert_eq!(active(&t).await, 4);
    let out = sesame(&["import", "all.csv", "--max-disable", "3"], &t.url, dir.path());
    assert_eq!(out.status.code(), Some(2), "--max-disable means nothing without --disable-missing");
}

/// Windows line ends, a French spreadsheet's `;` and a byte-order mark: the same import.
async fn crlf_semicolons_and_a_bom_read_as_the_plain_file(t: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let french = format!("\u{feff}{}", CSV.replace(',', ";").replace('\n', "\r\n"));
    std::fs::write(dir.path().join("export.csv"), french).unwrap();
    let out = sesame(&["import", "export.csv"], &t.url, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("line 3: rejected: birth_date") && stdout.contains("line 4: rejected: category"),
        "{stdout}"
    );
    assert!(stdout.contains("4 lines read: 2 accepted (2 created"), "{stdout}");
    assert!(t.store.find_by_login("elodie.leboeuf").await.unwrap().is_some());

    std::fs::write(dir.path().join("tabs.csv"), "uid\tcategory\tgiven_name\tfamily_name\tbirth_date\n").unwrap();
    let out = sesame(&["import", "tabs.csv"], &t.url, dir.path());
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains(r#"as ["uid\tcategory\tgiven_name\tfamily_name\tbirth_date"]"#), "{stderr}");
}

/// A second import on the same database stops at once, with a clear line, and writes nothing.
async fn one_import_at_a_time(t: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("all.csv"), FOUR_PEOPLE).unwrap();
    let held = t.store.import_lock().await.unwrap().expect("the lock is free");
    assert!(t.store.import_lock().await.unwrap().is_none(), "taken twice");
    let out = sesame(&["import", "all.csv"], &t.url, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("another import is running on") && stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(t.store.count_people().await.unwrap(), 0);
    let dry = run_ok(&["import", "all.csv", "--dry-run"], &t, &dir);
    assert!(dry.contains("4 created"), "a dry run writes nothing and needs no lock: {dry}");
    drop(held);
    run_ok(&["import", "all.csv"], &t, &dir);
    assert_eq!(t.store.count_people().await.unwrap(), 4);
    assert!(t.store.import_lock().await.unwrap().is_some(), "the binary let go of the lock when it ended");
}

/// The audit line of an import names its file and who ran it.
async fn the_audit_names_the_import_file_and_the_operator(t: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let one: String = FOUR_PEOPLE.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("one.csv"), one).unwrap();
    let said = run_ok(&["import", "one.csv", "--disable-missing", "--max-disable", "0"], &t, &dir);
    assert!(said.contains("1 line read: 1 accepted (1 created") && said.contains("0 people disabled"), "{said}");
    let out = sesame(&["audit", "--limit", "1"], &t.url, dir.path());
    assert!(text(&out).1.contains("only the latest event is shown"), "{:?}", text(&out));
    std::fs::write(dir.path().join("rh-2026.csv"), FOUR_PEOPLE).unwrap();
    run_ok(&["import", "rh-2026.csv"], &t, &dir);
    let trail = run_ok(&["audit"], &t, &dir);
    let line = trail.lines().find(|l| l.contains(" import ")).unwrap_or_else(|| panic!("{trail}"));
    assert!(line.contains("file=rh-2026.csv created=3 updated=0 unchanged=1"), "{line}");
    assert!(line.contains(&format!("cli:{}", whoami::username())), "{line}");
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
        nt_sealed: None,
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
        let question = sesame::i18n::Locale::Fr.t("security_question.proposed.first_pet");
        for expected in ["elodie.leboeuf", "100001", "Le Bœuf", "12345", "14/07/1985", &question, "+33 6 •• •• •• 78"]
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
    assert_eq!((disabled.status.as_str(), disabled.disabled_by.map(|by| by.as_str())), ("disabled", Some("helpdesk")));
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
    assert!(said.contains("is back to not activated: they can activate again"), "{said}");
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
        (throttle::sign_in_key(elodie.id), throttle::SIGN_IN),
        (throttle::identified_person_key(elodie.id), throttle::IDENTIFIER),
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
    assert!(said.contains("4 failure counters cleared"), "{said}");
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
    let today = paris().local(OffsetDateTime::now_utc()).date();
    assert_eq!(row(&stats, &today.to_string()), [today.to_string(), "1".into()], "{stats}");
    let yesterday = today - Duration::days(1);
    assert_eq!(row(&stats, &yesterday.to_string()), [yesterday.to_string(), "0".into()], "{stats}");
    let total_over_days = stats.lines().rev().find(|l| l.starts_with("total")).unwrap();
    assert_eq!(total_over_days.split_whitespace().collect::<Vec<_>>(), ["total", "1"], "{stats}");
}

/// The kinds of an audit table, top to bottom.
fn kinds(out: &str) -> Vec<String> {
    // Day, time and offset come first.
    out.lines().skip(1).map(|l| l.split_whitespace().nth(3).unwrap_or_default().to_string()).collect()
}

/// The default SESAME_TIMEZONE.
fn paris() -> sesame::config::Timezone {
    sesame::config::Timezone::named("Europe/Paris").unwrap()
}

async fn audit_for_a_person_lists_the_helpdesk_events_newest_first(t: TestStore) {
    let (dir, _) = two_people_one_activated(&t).await;
    for (action, id) in
        [("unlock", "elodie.leboeuf"), ("disable", "jean.dupont"), ("disable", "12345"), ("reset", "100001")]
    {
        run_ok(&["account", action, id], &t, &dir);
    }
    let trail = run_ok(&["audit", "--person", "elodie.leboeuf"], &t, &dir);
    assert!(trail.starts_with("time (Europe/Paris)"), "{trail}");
    assert_eq!(kinds(&trail), ["helpdesk_reset", "helpdesk_disable", "helpdesk_unlock", "activated"], "{trail}");
    let operator = format!(" cli:{} ", whoami::username());
    assert!(trail.lines().skip(1).all(|l| l.contains(&operator) || l.contains("192.0.2.7")), "{trail}");
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
    // 10 January starts at 23:00 UTC the day before in Paris.
    let day = time::macros::datetime!(2026-01-09 23:00 UTC);
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
        assert!(trail.contains("just-after") && trail.contains("2026-01-10 00:00:00 +01:00"), "{since}: {trail}");
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

/// `config check`: every setting with its source, no password, and whether the database and
/// the mail server answer (exit 1 when one does not).
async fn config_check_shows_the_settings_and_checks_the_services(t: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sesame.toml"), "institution_name = \"Université Test\"\n").unwrap();
    let check = |vars: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sesame"));
        command
            .args(["--config", "sesame.toml", "config", "check"])
            .current_dir(dir.path())
            .env("DATABASE_URL", &t.url);
        for (name, value) in vars {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let out = check(&[("SESAME_BIND", "127.0.0.1:9000")]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    for (variable, source, value) in [
        ("DATABASE_URL", "environment", t.url.as_str()),
        ("SESAME_BIND", "environment", "127.0.0.1:9000"),
        ("SESAME_PUBLIC_URL", "default, from SESAME_BIND", "http://127.0.0.1:9000/"),
        ("SESAME_INSTITUTION_NAME", "file", "Université Test"),
        ("SESAME_TIMEZONE", "default", "Europe/Paris"),
        ("SESAME_SMTP_URL", "default", "(empty)"),
    ] {
        let line =
            stdout.lines().find(|l| l.starts_with(&format!("{variable} "))).unwrap_or_else(|| panic!("{stdout}"));
        assert!(line.contains(source) && line.trim_end().ends_with(value), "{line}");
    }
    assert!(check_line(&stdout, "database").starts_with("ok:"), "{stdout}");
    assert!(check_line(&stdout, "mail").starts_with("ok: no SMTP server"), "{stdout}");
    assert!(check_line(&stdout, "directory").starts_with("ok: none configured"), "{stdout}");

    let closed = format!("smtp://relay:s3cret@127.0.0.1:{}", common::free_port());
    let out = check(&[("SESAME_SMTP_URL", &closed)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(check_line(&stdout, "mail").starts_with("FAILED: smtp://relay:***@127.0.0.1"), "{stdout}");
    assert!(!stdout.contains("s3cret") && !stderr.contains("s3cret"), "{stdout}{stderr}");

    let out = check(&[("SESAME_TIMEZONE", "Paris")]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.starts_with("error: SESAME_TIMEZONE: 'Paris' is not a time zone"), "{stderr}");
}

on_both_stores!(
    config_check_shows_the_settings_and_checks_the_services,
    import_reports_each_rejected_line_and_keeps_the_good_ones,
    disable_missing_refuses_what_looks_like_a_broken_export,
    crlf_semicolons_and_a_bom_read_as_the_plain_file,
    one_import_at_a_time,
    the_audit_names_the_import_file_and_the_operator,
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
fn a_dry_run_on_a_missing_sqlite_file_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("people.csv"), CSV).unwrap();
    let out = sesame(&["import", "people.csv", "--dry-run"], "sqlite://absent.db", dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("does not exist yet") && stdout.contains("2 accepted (2 created"), "{stdout}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["people.csv"], "nothing written beside the file");
}

/// What `config check` said of one service, after its name.
fn check_line<'a>(stdout: &'a str, service: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(service).filter(|rest| rest.starts_with(' ')).map(str::trim_start))
        .unwrap_or_else(|| panic!("no {service} line: {stdout}"))
}

#[test]
fn config_check_on_an_unreachable_database_fails_and_creates_no_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = sesame(&["config", "check"], "postgres://nobody:hunter2@127.0.0.1:1/none", dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let said = check_line(&stdout, "database");
    assert!(said.starts_with("FAILED: cannot connect to postgres://nobody:***@127.0.0.1:1/none"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
    let out = sesame(&["config", "check"], "sqlite://new.db", dir.path());
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out).0.contains("does not exist yet: serve will create it"));
    assert!(!dir.path().join("new.db").exists());
}

/// Without SESAME_PUBLIC_URL the links follow `--bind`, in `serve` and `demo`; without SMTP,
/// `serve` says once at start where mail goes, and that codes wait under a key of its own.
#[test]
fn serve_and_demo_derive_their_url_from_the_bind_address() {
    use std::io::BufRead;
    for command in ["serve", "demo"] {
        let dir = tempfile::tempdir().unwrap();
        let port = common::free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_sesame"))
            .args([command, "--bind", &format!("127.0.0.1:{port}")])
            .current_dir(dir.path())
            .env("DATABASE_URL", "sqlite://s.db")
            .env("SESAME_BIND", "127.0.0.1:1")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
            .spawn()
            .unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let announced = stdout.lines().map(Result::unwrap).find(|l| l.contains("listening")).unwrap_or_default();
        common::terminate(&mut child);
        assert!(announced.ends_with(&format!("open http://127.0.0.1:{port}/")), "{command}: {announced}");
        let logs = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
        let said = format!("mail is not sent but written as files to {}", dir.path().join("mail").display());
        let expected = if command == "serve" { 1 } else { 0 };
        assert_eq!(logs.matches(&said).count(), expected, "{command}: {logs}");
        let unsealed = "SESAME_SECRET_KEY is not set: recovery codes wait sealed with a key of this process only";
        assert_eq!(logs.matches(unsealed).count(), expected, "{command}: {logs}");
    }
}

/// The env file of docs/deploy.md, as written there.
fn documented_env_file() -> String {
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy.md")).unwrap();
    let after = guide.split("`/etc/sesame/sesame.env` (mode").nth(1).expect("the env file's section");
    let block = after.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("its block");
    block.to_string()
}

/// The documented env file reads the same in a shell as in systemd (which takes the text
/// between the double quotes), and `config check` accepts every value of it.
#[test]
fn the_documented_env_file_is_valid_for_a_shell_and_for_systemd() {
    let env_file = documented_env_file();
    let mut expected = Vec::new();
    for line in env_file.lines() {
        let (name, quoted) = line.split_once('=').unwrap_or_else(|| panic!("not an assignment: {line}"));
        let value = quoted.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or_else(|| panic!("{line}"));
        assert!(!value.contains(['"', '\\', '$', '`']), "read differently by systemd and a shell: {line}");
        expected.push((name.to_string(), value.to_string()));
    }
    assert!(expected.iter().any(|(n, v)| n == "SESAME_MAIL_FROM" && v.contains(" <")), "{env_file}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sesame.env"), &env_file).unwrap();
    // The shell's reading, checked by the binary itself: the database and SMTP server are
    // the test's own, every other value the guide's.
    let script = "set -a; . ./sesame.env; set +a; DATABASE_URL=sqlite://x.db SESAME_SMTP_URL= exec \"$0\" config check";
    let out =
        Command::new("sh").args(["-c", script, env!("CARGO_BIN_EXE_sesame")]).current_dir(dir.path()).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    for (name, value) in expected.iter().filter(|(n, _)| !matches!(n.as_str(), "DATABASE_URL" | "SESAME_SMTP_URL")) {
        let line =
            stdout.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}: {stdout}"));
        assert!(line.contains(" environment "), "{line}");
        let shown = line.split(" environment ").nth(1).unwrap().trim();
        let value = value.parse::<lettre::message::Mailbox>().map_or(value.clone(), |m| m.to_string());
        assert!(shown == value || shown.trim_end_matches('/') == value, "{name}: {shown} != {value}");
    }
}

/// `--help` of every sub-command says what it does; `import --help` is enough to write an export.
#[test]
fn every_sub_command_explains_itself() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sesame")).args(args).arg("--help").output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        text(&out).0
    };
    let reset = help(&["account", "reset"]);
    assert!(reset.contains("back to not activated") && reset.contains("password history are kept"), "{reset}");
    assert!(!reset.to_lowercase().contains("delete the person"), "{reset}");
    let import = help(&["import"]);
    for said in [
        "uid, category (staff, student or external), given_name, family_name",
        "staff_number, student_number, ine, email, login",
        "`;` when the header line holds more semicolons than commas, `,` otherwise",
        "byte-order mark is ignored",
        "0  every line was accepted",
        "1  some lines were rejected",
        "2  nothing was written",
        "--max-disable <N|N%>",
        "[default: 5%]",
    ] {
        assert!(import.contains(said), "{said}: {import}");
    }
    for args in [
        &["serve"][..],
        &["demo"],
        &["migrate"],
        &["config", "check"],
        &["account", "show"],
        &["account", "unlock"],
        &["account", "disable"],
        &["stats"],
        &["audit"],
    ] {
        let said = help(args);
        let about = said.lines().next().unwrap_or_default();
        assert!(about.len() > 30 && !about.starts_with("Usage"), "{args:?} says too little: {said}");
    }
    assert!(help(&["account", "show"]).contains("DD/MM/YYYY") && help(&["audit"]).contains("SESAME_TIMEZONE"));
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

/// What `import` prints of its file (an unknown header, a rejected value) reaches the terminal
/// with its control characters escaped: a CSV cannot move the cursor or recolour the screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_escapes_control_characters_it_prints_from_the_file() {
    let t = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = "uid,category,given_name,family_name,birth_date,\x1b[2Jbureau\x07\n\
               u1,staff,Élodie,Le Bœuf,14/07/1985,x\n\
               u2,\x1b]0;owned\x07,Jean,Dupont,01/01/1990,y\n";
    std::fs::write(dir.path().join("people.csv"), csv).unwrap();
    let out = sesame(&["import", "people.csv"], &t.url, dir.path());
    let (stdout, stderr) = text(&out);
    assert!(!stdout.contains('\x1b') && !stdout.contains('\x07') && !stderr.contains('\x1b'), "{stdout:?}");
    assert!(stdout.contains("column \\u{1b}[2Jbureau\\u{7} is not used"), "{stdout}");
    assert!(stdout.contains("line 3: rejected: category"), "{stdout}");
}
