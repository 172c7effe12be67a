//! SIGTERM on the real binary: it stops accepting, lets the requests in flight finish, and
//! leaves nothing half-written.

mod common;

use std::process::Command;

use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_activations_in_flight_finish() {
    const N: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let mut csv = String::from("uid,category,given_name,family_name,birth_date,staff_number\n");
    for i in 0..N {
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
    let (mut child, addr) = common::serve_binary(dir.path(), &[("DATABASE_URL", &url)]);
    let store = sesame::store::connect(&url).await.unwrap();
    let app = common::TestApp { addr, client: common::browser(), store: store.clone() };

    // N people at the password step, each in their own browser.
    let mut ready = Vec::new();
    for i in 0..N {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
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

    // All the passwords at once (they queue behind Argon2), then SIGTERM while they run.
    let mut posts = tokio::task::JoinSet::new();
    for (i, (c, token)) in ready.into_iter().enumerate() {
        let url = app.url("/activate/password");
        posts.spawn(async move {
            let password = format!("Arrêt-Propre-{i}-Lune!");
            let form = [
                ("csrf_token", token.as_str()),
                ("password", &password),
                ("password_confirm", &password),
                ("accept_rules", "on"),
            ];
            (i, c.post(url).form(&form).send().await.map(|r| (r.status(), std::time::Instant::now())))
        });
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
