//! The activation wizard over real HTTP, on SQLite and on PostgreSQL.

mod common;

use std::time::Duration;

use common::journey::{GOOD_PASSWORD, csrf, get, identify, post, up_to_password};
use common::{TestApp, TestStore, spawn_app, test_config};
use reqwest::{Client, StatusCode};
use sesame::cli::import::{Options, import_lines, parse_csv};

const PEOPLE: &str = "uid,category,given_name,family_name,birth_date,staff_number,student_number,ine
100001,staff,Élodie,Le Bœuf,14/07/1985,12345,,
100002,student,Jean,Dupont,02/03/2004,,22001234,1234567890A
100003,staff,Ana,Lima,01/01/1990,777,,
";

pub async fn seeded(t: &TestStore, config: sesame::config::Config) -> TestApp {
    import_people(t).await;
    spawn_app(config, t.store.clone()).await
}

async fn import_people(t: &TestStore) {
    let today = time::OffsetDateTime::now_utc().date();
    let (lines, _) = parse_csv(PEOPLE.as_bytes(), today).unwrap();
    import_lines(t.store.as_ref(), lines, "example.edu", Options::default()).await.unwrap();
}

async fn app(t: &TestStore) -> TestApp {
    seeded(t, test_config(&t.url)).await
}

async fn post_password(
    client: &Client,
    app: &TestApp,
    password: &str,
    confirm: &str,
    accept: bool,
) -> (StatusCode, String, String) {
    let mut fields = vec![("password", password), ("password_confirm", confirm)];
    if accept {
        fields.push(("accept_rules", "on"));
    }
    post(client, app, "/activate/password", "/activate/password", &fields).await
}

fn without_tokens(body: &str) -> String {
    body.lines().filter(|l| !l.contains("csrf_token")).collect::<Vec<_>>().join("\n")
}

async fn a_whole_activation_ends_on_the_confirmation_and_a_mail(t: TestStore) {
    let config = test_config(&t.url);
    let mail_dir = config.mail_dir.clone();
    let app = seeded(&t, config).await;
    let c = &app.client;
    let (status, body) = get(c, &app, "/activate").await;
    assert_eq!(status, StatusCode::OK);
    for method in ["student_number", "ine", "staff_number", "uid"] {
        assert!(body.contains(&format!("/activate/identify?method={method}")), "{method}");
    }
    up_to_password(c, &app).await;
    let (_, page) = get(c, &app, "/activate/password").await;
    assert!(page.contains("12") && page.contains("30") && page.contains("règlement intérieur"));
    assert!(page.contains("value=\"90\""), "progress 90%");
    let (s, l, _) = post_password(c, &app, GOOD_PASSWORD, GOOD_PASSWORD, true).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/activate/done"));
    let (s, done) = get(c, &app, "/activate/done").await;
    assert_eq!(s, StatusCode::OK);
    for expected in ["elodie.leboeuf", "100001", "elodie.leboeuf@example.edu", "Correctement enregistré", "wifi"] {
        assert!(done.contains(expected), "done page shows {expected}");
    }
    let person = app
        .store
        .find_person(
            &sesame::domain::identifiers::Identifier::parse(
                sesame::domain::identifiers::IdentificationMethod::Uid,
                "100001",
            )
            .unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(app.store.has_account(person.id).await.unwrap());
    let history = app.store.password_history(person.id, 3).await.unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

    let mails = common::mail_files(&mail_dir, 1).await;
    assert_eq!(mails.len(), 1, "exactly one confirmation mail");
    assert!(mails[0].contains("elodie.leboeuf") && !mails[0].contains(GOOD_PASSWORD));
    // The wizard is over: its steps lead back to the start.
    let res = c.get(app.url("/activate/password")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/activate");
}

async fn unknown_identifier_and_wrong_birth_date_look_the_same(t: TestStore) {
    let app = app(&t).await;
    let (s1, _, unknown) = identify(&app.new_client(), &app, "staff_number", "99999", "14/07/1985").await;
    let (s2, _, wrong_date) = identify(&app.new_client(), &app, "staff_number", "12345", "15/07/1985").await;
    assert_eq!((s1, s2), (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNPROCESSABLE_ENTITY));
    let (unknown, wrong_date) = (without_tokens(&unknown), without_tokens(&wrong_date));
    // Only the typed values differ; put them equal and the pages must be identical.
    assert_eq!(unknown.replace("99999", "12345").replace("14/07/1985", "15/07/1985"), wrong_date);
    // One message, about both fields, tied to each and linked from the summary.
    assert_eq!(wrong_date.matches("aria-invalid=\"true\"").count(), 2, "{wrong_date}");
    assert_eq!(wrong_date.matches(" identification-error\"").count(), 2, "{wrong_date}");
    assert!(wrong_date.contains("id=\"identification-error\"") && wrong_date.contains("href=\"#identification\""));
}

async fn field_errors_come_back_with_values_kept(t: TestStore) {
    let app = app(&t).await;
    let (s, _, body) = identify(&app.client, &app, "ine", "12AB", "31/02/1990").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("value=\"12AB\"") && body.contains("value=\"31/02/1990\""));
    assert!(body.contains("id=\"identifier-error\"") && body.contains("id=\"birth_date-error\""));
    assert!(body.contains("href=\"#identifier\"") && body.contains("href=\"#birth_date\""), "summary links to fields");
}

async fn steps_asked_too_early_redirect_to_the_first_missing_one(t: TestStore) {
    let app = app(&t).await;
    for path in ["/activate/question", "/activate/sms", "/activate/photo", "/activate/password", "/activate/done"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()["location"], "/activate", "{path}");
    }
    identify(&app.client, &app, "staff_number", "12345", "14/07/1985").await;
    // Each step done in turn: every later page, the confirmation included, leads to the next.
    let steps: [(&str, &[(&str, &str)]); 4] = [
        ("/activate/question", &[("question", "first_pet"), ("custom_question", ""), ("answer", "Crème  Brûlée")]),
        ("/activate/sms", &[("sms_consent", "no"), ("phone", "")]),
        ("/activate/photo", &[("photo_consent", "no")]),
        ("/activate/password", &[]),
    ];
    let later = ["/activate/sms", "/activate/photo", "/activate/password", "/activate/done"];
    for (i, (first_missing, fields)) in steps.iter().enumerate() {
        for path in &later[i..] {
            let res = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
            assert_eq!(res.headers()["location"], *first_missing, "{path} before {first_missing} is done");
        }
        if !fields.is_empty() {
            let (s, ..) = post(&app.client, &app, first_missing, first_missing, fields).await;
            assert_eq!(s, StatusCode::SEE_OTHER, "{first_missing}");
        }
    }
    let res = app.client.post(app.url("/activate/password")).form(&[("csrf_token", "x")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a bad token is refused before anything else");
}

async fn previous_keeps_the_values(t: TestStore) {
    let app = app(&t).await;
    up_to_password(&app.client, &app).await;
    let (_, sms) = get(&app.client, &app, "/activate/sms").await;
    assert!(sms.contains("value=\"+33612345678\"") && sms.contains("value=\"yes\" checked"));
    let (_, q) = get(&app.client, &app, "/activate/question").await;
    assert!(q.contains("value=\"first_pet\" selected"));
    assert!(q.contains("Laissez ce champ vide pour la conserver"), "the hint says an empty field keeps the answer");
    // The saved answer is kept when the field is left empty.
    let (s, l, _) = post(
        &app.client,
        &app,
        "/activate/question",
        "/activate/question",
        &[("question", "first_pet"), ("answer", "")],
    )
    .await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/activate/sms"));
    let (_, photo) = get(&app.client, &app, "/activate/photo").await;
    assert!(photo.contains("value=\"no\" checked"));
}

async fn csrf_is_required_on_every_form(t: TestStore) {
    let app = app(&t).await;
    get(&app.client, &app, "/activate/identify?method=uid").await;
    for token in [None, Some("forged")] {
        let mut form = vec![("method", "uid"), ("identifier", "100001"), ("birth_date", "14/07/1985")];
        if let Some(t) = token {
            form.push(("csrf_token", t));
        }
        let res = app.client.post(app.url("/activate/identify?method=uid")).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    let stranger = app.new_client();
    let (_, page) = get(&app.client, &app, "/activate/identify?method=uid").await;
    let token = csrf(&page);
    let form =
        [("csrf_token", token.as_str()), ("method", "uid"), ("identifier", "100001"), ("birth_date", "14/07/1985")];
    let res = stranger.post(app.url("/activate/identify?method=uid")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a token from another session is worthless");
}

/// The `name=value` part of the cookie `name` the response sets.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&prefix))
        .map(str::to_string)
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    set_cookie(res, "sesame_session").map(|c| c.split(';').next().unwrap().to_string())
}

async fn the_session_id_changes_on_identification(t: TestStore) {
    let app = app(&t).await;
    let res = app.client.get(app.url("/activate/identify?method=staff_number")).send().await.unwrap();
    assert_eq!(session_cookie(&res), None, "a visitor's form needs no session");
    let header = set_cookie(&res, "sesame_csrf").unwrap_or_default();
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Lax") && header.contains("Path=/"), "{header}");
    assert!(!header.contains("Secure"), "configured off");
    let identify_now = || async {
        let res = app.client.get(app.url("/activate/identify?method=staff_number")).send().await.unwrap();
        assert_eq!(session_cookie(&res), None, "showing a form changes no session");
        let page = res.text().await.unwrap();
        let form = [
            ("csrf_token", csrf(&page)),
            ("method", "staff_number".into()),
            ("identifier", "12345".into()),
            ("birth_date", "14/07/1985".into()),
        ];
        let res = app.client.post(app.url("/activate/identify?method=staff_number")).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        session_cookie(&res).expect("a session from identification on")
    };
    let first = identify_now().await;
    let second = identify_now().await;
    assert_ne!(first, second, "a new id at each identification");
}

async fn five_failures_lock_an_identifier_whether_or_not_it_exists(t: TestStore) {
    let app = app(&t).await;
    for (id, born) in [("12345", "01/01/2000"), ("55555", "01/01/2000")] {
        for attempt in 1..=5 {
            let (s, _, _) = identify(&app.new_client(), &app, "staff_number", id, born).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{id}: attempt {attempt}");
        }
        let client = app.new_client();
        let page = "/activate/identify?method=staff_number";
        let (_, form) = get(&client, &app, page).await;
        let fields = [
            ("csrf_token", csrf(&form)),
            ("method", "staff_number".into()),
            ("identifier", id.into()),
            ("birth_date", "14/07/1985".into()),
        ];
        let res = client.post(app.url(page)).form(&fields).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{id}: locked, even with the right date");
        let retry: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((800..=900).contains(&retry), "{retry}");
        assert!(res.text().await.unwrap().contains("15 minutes"));
    }
    // Other identifiers are not affected.
    let (s, _, _) = identify(&app.new_client(), &app, "staff_number", "777", "01/01/1990").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
}

async fn twenty_failures_from_one_address_turn_it_away(t: TestStore) {
    let app = app(&t).await;
    for i in 0..20 {
        let (s, _, _) = identify(&app.client, &app, "uid", &format!("nobody{i}"), "01/01/2000").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "attempt {i}");
    }
    let (s, _, _) = identify(&app.client, &app, "uid", "100003", "01/01/1990").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, _, _) = identify(&app.client, &app, "uid", "", "").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "turned away before its form is even read");
}

async fn a_success_forgets_the_identifiers_earlier_failures(t: TestStore) {
    let app = app(&t).await;
    for round in ["before", "after"] {
        for attempt in 1..=4 {
            let (s, _, _) = identify(&app.new_client(), &app, "staff_number", "12345", "01/01/2000").await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{round} the success: attempt {attempt}");
        }
        let (s, _, _) = identify(&app.new_client(), &app, "staff_number", "12345", "14/07/1985").await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{round} the success: four failures lock nothing");
    }
}

async fn every_broken_password_rule_is_named(t: TestStore) {
    let app = app(&t).await;
    up_to_password(&app.client, &app).await;
    let cases = [
        ("Court-1a", "12"),
        ("Beaucoup-Trop-Long-Mot-De-Passe-1", "30"),
        ("VELO-ROUGE-LUNE-42", "minuscule"),
        ("velo-rouge-lune-42", "majuscule"),
        ("Velo-Rouge-Lune-Bleue", "chiffre"),
        ("VeloRougeLune42x", "caractère spécial"),
        ("Velo Rouge Lune 42!", "espace"),
        ("Elodie.Leboeuf-2x!", "login"),
        ("Password2024!", "devin"),
        ("Azerty123456!", "rangée de touches"),
        ("Soleil2024!!", "mot de passe parmi les plus courants"),
    ];
    for (password, says) in cases {
        let (s, _, body) = post_password(&app.client, &app, password, password, true).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{password}");
        assert!(body.contains("password-error"), "{password}");
        assert!(body.to_lowercase().contains(says), "{password}: expected a message about {says}");
        assert!(!body.contains(password), "a password is never sent back");
    }
    let (s, _, body) = post_password(&app.client, &app, GOOD_PASSWORD, "autre-chose", false).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("password_confirm-error") && body.contains("accept_rules-error"));
}

async fn two_sessions_finishing_at_once_make_one_account(t: TestStore) {
    let app = app(&t).await;
    let (a, b) = (app.new_client(), app.new_client());
    up_to_password(&a, &app).await;
    up_to_password(&b, &app).await;
    let ((sa, la, body_a), (sb, lb, body_b)) = tokio::join!(
        post_password(&a, &app, GOOD_PASSWORD, GOOD_PASSWORD, true),
        post_password(&b, &app, GOOD_PASSWORD, GOOD_PASSWORD, true)
    );
    let outcomes = [(sa, la, body_a), (sb, lb, body_b)];
    let done = outcomes.iter().filter(|(s, l, _)| *s == StatusCode::SEE_OTHER && l == "/activate/done").count();
    let already = outcomes.iter().filter(|(s, _, b)| *s == StatusCode::OK && b.contains("déjà activé")).count();
    assert_eq!((done, already), (1, 1), "{:?}", outcomes.iter().map(|o| (o.0, o.1.clone())).collect::<Vec<_>>());
    let id = sesame::domain::identifiers::Identifier::parse(
        sesame::domain::identifiers::IdentificationMethod::Uid,
        "100001",
    )
    .unwrap();
    let person = app.store.find_person(&id).await.unwrap().unwrap();
    assert_eq!(app.store.password_history(person.id, 10).await.unwrap().len(), 1, "the loser wrote nothing");
}

async fn activated_and_disabled_people_get_their_own_pages(t: TestStore) {
    let app = app(&t).await;
    up_to_password(&app.client, &app).await;
    post_password(&app.client, &app, GOOD_PASSWORD, GOOD_PASSWORD, true).await;
    let (s, _, body) = identify(&app.new_client(), &app, "staff_number", "12345", "14/07/1985").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("déjà activé") && body.contains("/login") && body.contains("/recover"));

    let only_others = PEOPLE.lines().filter(|l| !l.starts_with("100003")).map(|l| format!("{l}\n")).collect::<String>();
    let (lines, _) = parse_csv(only_others.as_bytes(), time::OffsetDateTime::now_utc().date()).unwrap();
    import_lines(app.store.as_ref(), lines, "example.edu", Options { disable_missing: true, dry_run: false })
        .await
        .unwrap();
    let (s, _, body) = identify(&app.new_client(), &app, "staff_number", "777", "01/01/1990").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("assistance"));
}

async fn english_is_complete_on_the_form(t: TestStore) {
    let app = app(&t).await;
    let (_, body) = get(&app.client, &app, "/activate/identify?method=ine&lang=en").await;
    assert!(body.contains("<html lang=\"en\">") && body.contains("Birth date") && body.contains("INE number"));
    assert!(!body.contains("Date de naissance"));
}

async fn the_wizard_expires_when_idle(t: TestStore) {
    let mut config = test_config(&t.url);
    config.wizard_timeout = time::Duration::seconds(1);
    let app = seeded(&t, config).await;
    identify(&app.client, &app, "staff_number", "12345", "14/07/1985").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (s, body) = get(&app.client, &app, "/activate/question").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("expiré"));
    let res = app.client.get(app.url("/activate/question")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "then the wizard starts over");
}

async fn the_outbox_retries_until_smtp_answers_and_sends_once(t: TestStore) {
    let port = common::free_port();
    let mut config = test_config(&t.url);
    config.smtp_url = Some(url::Url::parse(&format!("smtp://127.0.0.1:{port}")).unwrap());
    let app = seeded(&t, config).await;
    up_to_password(&app.client, &app).await;
    let (s, _, _) = post_password(&app.client, &app, GOOD_PASSWORD, GOOD_PASSWORD, true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "activation does not wait for SMTP");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(app.store.mail_backlog().await.unwrap(), 1, "refused, kept for later");

    let smtp = common::Relay::start_on(port, common::Mode::Accept).await;
    for _ in 0..80 {
        if !smtp.messages.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let received = smtp.messages.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "exactly once");
    assert!(received[0].contains("elodie.leboeuf@example.edu") && !received[0].contains(GOOD_PASSWORD));
    assert_eq!(app.store.mail_backlog().await.unwrap(), 0);
}

/// Without a poll to fall back on, a backlog larger than one claim leaves in full when the
/// worker starts, and an activation's mail leaves at once (the activation rings the worker).
async fn the_outbox_needs_no_poll(t: TestStore) {
    import_people(&t).await;
    let jean = t.store.find_by_login("jean.dupont").await.unwrap().expect("Jean");
    for i in 0..25 {
        let audit = sesame::store::AuditEvent {
            kind: "probe",
            actor: "test".into(),
            person_id: Some(jean.id),
            client_addr: None,
            detail: String::new(),
            at: time::OffsetDateTime::now_utc(),
        };
        let mail = sesame::store::NewMail {
            kind: "probe",
            recipient: "jean.dupont@example.edu".into(),
            subject: format!("backlog {i}"),
            body_text: "queued before the worker started".into(),
        };
        t.store.change_password(jean.id, "unused", None, 1, &audit, Some(&mail)).await.unwrap();
    }
    let mut config = test_config(&t.url);
    config.mail_pace.poll = Duration::from_secs(3600);
    let mail_dir = config.mail_dir.clone();
    let app = spawn_app(config, t.store.clone()).await;
    assert_eq!(common::mail_files(&mail_dir, 25).await.len(), 25, "the whole backlog, in batches");
    up_to_password(&app.client, &app).await;
    let (s, _, _) = post_password(&app.client, &app, GOOD_PASSWORD, GOOD_PASSWORD, true).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let mails = common::mail_files(&mail_dir, 26).await;
    assert_eq!(mails.len(), 26, "the confirmation too, without a poll");
    // A mail is marked sent just after its file is written.
    let mut backlog = app.store.mail_backlog().await.unwrap();
    for _ in 0..50 {
        if backlog == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        backlog = app.store.mail_backlog().await.unwrap();
    }
    assert_eq!(backlog, 0, "every mail marked sent");
}

fn client_from(addr: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", addr.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn forwarded_addresses_are_believed_only_from_trusted_proxies(t: TestStore) {
    // Untrusted peer: a forged header changes nothing, the peer itself is throttled.
    let app = app(&t).await;
    for i in 0..20 {
        identify(&client_from(&format!("198.51.100.{i}")), &app, "uid", &format!("x{i}"), "01/01/2000").await;
    }
    let (s, _, _) = identify(&client_from("203.0.113.1"), &app, "uid", "100003", "01/01/1990").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);

    // Behind a trusted proxy, each forwarded client has its own counter.
    let mut config = test_config(&t.url);
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let other = common::postgres_or_sqlite_like(&t).await;
    let app = seeded(&other, config).await;
    for i in 0..20 {
        identify(&client_from("198.51.100.7"), &app, "uid", &format!("y{i}"), "01/01/2000").await;
    }
    let (s, _, _) = identify(&client_from("198.51.100.7"), &app, "uid", "100003", "01/01/1990").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, _, _) = identify(&client_from("198.51.100.8"), &app, "uid", "100003", "01/01/1990").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
}

async fn the_session_cookie_is_secure_unless_configured_off(t: TestStore) {
    let mut config = test_config(&t.url);
    config.cookie_secure = true;
    let app = seeded(&t, config).await;
    let res = app.client.get(app.url("/activate/identify?method=uid")).send().await.unwrap();
    let visitor = set_cookie(&res, "__Host-sesame_csrf").expect("the visitor's CSRF cookie, for the host alone");
    assert!(visitor.contains("Secure") && visitor.contains("HttpOnly") && visitor.contains("Path=/"), "{visitor}");
    // Over plain HTTP the client keeps Secure cookies to itself: sent by hand.
    let token = csrf(&res.text().await.unwrap());
    let form =
        [("csrf_token", token.as_str()), ("method", "uid"), ("identifier", "100001"), ("birth_date", "14/07/1985")];
    let res = app
        .new_client()
        .post(app.url("/activate/identify?method=uid"))
        .header("cookie", format!("__Host-sesame_csrf={token}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&res, "sesame_session").expect("a session from identification on");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
}

on_both_stores!(
    a_whole_activation_ends_on_the_confirmation_and_a_mail,
    unknown_identifier_and_wrong_birth_date_look_the_same,
    field_errors_come_back_with_values_kept,
    steps_asked_too_early_redirect_to_the_first_missing_one,
    previous_keeps_the_values,
    csrf_is_required_on_every_form,
    the_session_id_changes_on_identification,
    five_failures_lock_an_identifier_whether_or_not_it_exists,
    twenty_failures_from_one_address_turn_it_away,
    a_success_forgets_the_identifiers_earlier_failures,
    every_broken_password_rule_is_named,
    two_sessions_finishing_at_once_make_one_account,
    activated_and_disabled_people_get_their_own_pages,
    english_is_complete_on_the_form,
    the_wizard_expires_when_idle,
    the_outbox_retries_until_smtp_answers_and_sends_once,
    the_outbox_needs_no_poll,
    forwarded_addresses_are_believed_only_from_trusted_proxies,
    the_session_cookie_is_secure_unless_configured_off,
);
