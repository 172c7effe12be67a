//! SIGTERM and kill -9 on the real binary: SIGTERM stops accepting and lets the requests in
//! flight finish; kill -9 leaves nothing half-written, and a restart is all it takes to go on.

mod common;

use std::process::{Child, Command};
use std::sync::Arc;

use reqwest::StatusCode;

/// People `g0`… imported into a new SQLite file, the real binary serving it, and each person at
/// the password step in a browser of their own: that browser (posting on fresh connections) and
/// its form's token.
struct AtThePassword {
    dir: tempfile::TempDir,
    url: String,
    child: Child,
    app: common::TestApp,
    store: Arc<dyn sesame::store::Store>,
    ready: Vec<(reqwest::Client, String)>,
}

async fn at_the_password(n: usize) -> AtThePassword {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let mut csv = String::from("uid,category,given_name,family_name,birth_date,staff_number\n");
    for i in 0..n {
        csv.push_str(&format!("g{i},staff,Prénom,Nom{i},01/01/1980,G{i}\n"));
    }
    std::fs::write(dir.path().join("p.csv"), csv).unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["import", "p.csv"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(import.status.success());
    let (child, addr) = common::serve_binary(dir.path(), &[("DATABASE_URL", &url)]);
    let store = sesame::store::connect(&url).await.unwrap();
    let app = common::TestApp { addr, client: common::browser(), store: store.clone() };

    let mut ready = Vec::new();
    for i in 0..n {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let c = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let id = format!("G{i}");
        let steps: [(&str, Vec<(&str, &str)>); 4] = [
            (
                "/activate/identify?method=staff_number",
                vec![("method", "staff_number"), ("identifier", &id), ("birth_date", "01/01/1980")],
            ),
            ("/activate/question", vec![("question", "first_pet"), ("answer", "Rantanplan")]),
            ("/activate/sms", vec![("sms_consent", "no")]),
            ("/activate/photo", vec![("photo_consent", "no")]),
        ];
        for (path, fields) in steps {
            assert_eq!(common::journey::post(&c, &app, path, path, &fields).await.0, StatusCode::SEE_OTHER, "{path}");
        }
        let (_, page) = common::journey::get(&c, &app, "/activate/password").await;
        // The post goes on a new connection: accepted before the listener closed, or refused;
        // never a pooled idle connection that the shutdown closes under it.
        let fresh = reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        ready.push((fresh, common::journey::csrf(&page)));
    }
    AtThePassword { dir, url, child, app, store, ready }
}

/// Person `i`'s password post, answered or not, and when.
async fn post_password(
    c: reqwest::Client,
    url: String,
    token: String,
    i: usize,
) -> reqwest::Result<(StatusCode, std::time::Instant)> {
    let password = format!("Arrêt-Propre-{i}-Lune!");
    let form = [
        ("csrf_token", token.as_str()),
        ("password", &password),
        ("password_confirm", &password),
        ("accept_rules", "on"),
    ];
    c.post(url).form(&form).send().await.map(|r| (r.status(), std::time::Instant::now()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_activations_in_flight_finish() {
    const N: usize = 8;
    let AtThePassword { dir: _dir, mut child, app, store, ready, .. } = at_the_password(N).await;

    // All the passwords at once (they queue behind Argon2), then SIGTERM while they run.
    let mut posts = tokio::task::JoinSet::new();
    for (i, (c, token)) in ready.into_iter().enumerate() {
        let url = app.url("/activate/password");
        posts.spawn(async move { (i, post_password(c, url, token, i).await) });
    }
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let signalled = std::time::Instant::now();
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let mut answers: Vec<Option<reqwest::Result<(StatusCode, std::time::Instant)>>> = (0..N).map(|_| None).collect();
    while let Some(done) = posts.join_next().await {
        let (i, answer) = done.unwrap();
        answers[i] = Some(answer);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "exits cleanly: {status}");
    let mut finished_after_signal = 0;
    for (i, answer) in answers.iter().enumerate() {
        // An error is a connection refused, or reset in the kernel's backlog once the listener
        // closed: never accepted. That nothing was written for it is checked below.
        if let Ok((status, at)) = answer.as_ref().unwrap() {
            assert_eq!(*status, StatusCode::SEE_OTHER, "g{i}");
            finished_after_signal += usize::from(*at > signalled);
        }
    }
    assert!(finished_after_signal > 0, "some requests were in flight at SIGTERM and finished: {answers:?}");
    for (i, answer) in answers.iter().enumerate() {
        let id = sesame::domain::identifiers::Identifier::parse(
            sesame::domain::identifiers::IdentificationMethod::Uid,
            &format!("g{i}"),
        )
        .unwrap();
        let person = store.find_person(&id).await.unwrap().unwrap();
        let answered = answer.as_ref().unwrap().is_ok();
        assert_eq!(store.has_account(person.id).await.unwrap(), answered, "g{i}: all or nothing");
        assert_eq!(store.password_history(person.id, 3).await.unwrap().len(), usize::from(answered));
    }
    assert!(reqwest::get(app.url("/healthz")).await.is_err(), "no longer accepting");
}

/// kill -9 while activations hash and commit: afterwards each person has a whole account (with
/// its history entry, its audit event and one confirmation mail) or nothing at all, and once the
/// binary is started again those with nothing finish from the same browser, with no other repair.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_activation_leaves_whole_accounts_or_none() {
    const N: usize = 12;
    let AtThePassword { dir, url, mut child, app, store, ready } = at_the_password(N).await;
    let mut posts = tokio::task::JoinSet::new();
    for (i, (c, token)) in ready.iter().cloned().enumerate() {
        let url = app.url("/activate/password");
        posts.spawn(post_password(c, url, token, i));
    }
    // Killed as soon as the first account is written: the others are hashing, queued or committing.
    let t = common::TestStore::existing(&url).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while common::sql_count(&t, "SELECT COUNT(*) FROM accounts").await == 0 {
        assert!(std::time::Instant::now() < deadline, "no activation was written");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    while posts.join_next().await.is_some() {}

    let whole = |store: Arc<dyn sesame::store::Store>, i: usize| async move {
        let id = sesame::domain::identifiers::Identifier::parse(
            sesame::domain::identifiers::IdentificationMethod::Uid,
            &format!("g{i}"),
        )
        .unwrap();
        let person = store.find_person(&id).await.unwrap().unwrap();
        let account = store.has_account(person.id).await.unwrap();
        let history = store.password_history(person.id, 3).await.unwrap().len();
        (account, history)
    };
    let mut made = 0;
    for i in 0..N {
        let (account, history) = whole(store.clone(), i).await;
        assert_eq!(history, usize::from(account), "g{i}: an account and its history, or neither");
        made += usize::from(account);
    }
    let count = |sql: &'static str| common::sql_count(&t, sql);
    assert_eq!(count("SELECT COUNT(*) FROM audit_events WHERE kind = 'activated'").await, made as i64);
    assert_eq!(count("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'activated'").await, made as i64);
    assert!(0 < made && made < N, "the kill came mid-way ({made} of {N} written)");

    // Started again: the same browsers finish, each person once.
    let (mut again, addr) = common::serve_binary(dir.path(), &[("DATABASE_URL", &url)]);
    let app = common::TestApp { addr, ..app };
    for (i, (c, token)) in ready.into_iter().enumerate() {
        if !whole(store.clone(), i).await.0 {
            let (status, _) = post_password(c, app.url("/activate/password"), token, i).await.unwrap();
            assert_eq!(status, StatusCode::SEE_OTHER, "g{i} finishes after the restart");
        }
    }
    for i in 0..N {
        assert_eq!(whole(store.clone(), i).await, (true, 1), "g{i}");
    }
    assert_eq!(count("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'activated'").await, N as i64, "one mail each");
    assert!(common::terminate(&mut again).success());
}
