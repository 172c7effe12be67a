//! The foundation's pages over real HTTP: probes, home page, headers, languages.

mod common;

use common::journey::{GOOD_PASSWORD, csrf, get, identify_at, post};
use common::{TestApp, TestStore, spawn_app, test_config};
use reqwest::{Client, StatusCode};

async fn app(t: &TestStore) -> common::TestApp {
    let mut config = test_config(&t.url);
    config.sms.dir = sms_dir(t);
    spawn_app(config, t.store.clone()).await
}

/// h22: where this store's application writes its SMS (one-time recovery codes).
fn sms_dir(t: &TestStore) -> std::path::PathBuf {
    let name: String = t.url.chars().filter(char::is_ascii_alphanumeric).rev().take(40).collect();
    std::env::temp_dir().join(format!("sesame-web-sms-{name}"))
}

/// h22: the code in the newest SMS written for this store.
fn latest_sms_code(t: &TestStore) -> String {
    let newest = std::fs::read_dir(sms_dir(t))
        .unwrap()
        .filter_map(Result::ok)
        .max_by_key(|e| e.metadata().unwrap().modified().unwrap())
        .expect("an SMS");
    let text = std::fs::read_to_string(newest.path()).unwrap();
    let at = text.find(" est ").expect("the code in the SMS") + 5;
    text[at..at + 6].to_string()
}

async fn probes_answer(t: TestStore) {
    let app = app(&t).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

async fn home_is_french_by_default_with_the_contract_headers(t: TestStore) {
    let app = app(&t).await;
    let res = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    let body = res.text().await.unwrap();
    assert!(body.contains("<html lang=\"fr\">"));
    for link in ["/activate", "/recover", "/login", "/help"] {
        assert!(body.contains(&format!("href=\"{link}\"")), "home links to {link}");
    }
    assert!(body.contains("Activer mon compte") && body.contains("Identifiants oubliés"));
}

async fn english_when_the_browser_prefers_it_or_asked_and_remembered(t: TestStore) {
    let app = app(&t).await;
    let body = app
        .client
        .get(app.url("/"))
        .header("accept-language", "en-GB,en;q=0.9,fr;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("<html lang=\"en\">") && body.contains("Activate my account"));

    let res = app.client.get(app.url("/?lang=en")).send().await.unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("lang=en") && cookie.contains("HttpOnly"), "{cookie}");
    // The cookie jar now carries the choice, whatever the browser says.
    let body = app.client.get(app.url("/")).header("accept-language", "fr").send().await.unwrap().text().await.unwrap();
    assert!(body.contains("<html lang=\"en\">"));
}

async fn unknown_pages_are_a_calm_404(t: TestStore) {
    let app = app(&t).await;
    let res = app.client.get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page introuvable"));
}

/// The `src` or `href` of the page's link to a static asset: `sesame.css` under its hashed
/// name for `("sesame.", ".css")`.
fn asset_link(body: &str, stem: &str, extension: &str) -> String {
    let start = format!("/static/{stem}");
    body.split('"').find(|part| part.contains(&start) && part.ends_with(extension)).expect("an asset link").to_string()
}

async fn static_assets_are_hashed_compressed_and_cached(t: TestStore) {
    let app = app(&t).await;
    let home = app.client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    for extension in [".css", ".js"] {
        let link = asset_link(&home, "sesame.", extension);
        assert!(link.len() > "/static/sesame.".len() + 16, "content-hashed name: {link}");
        let res = app.client.get(app.url(&link)).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{link}");
        assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(res.headers()["content-encoding"], "gzip");
        assert_eq!(res.headers()["vary"], "accept-encoding");
        let plain = app.client.get(app.url(&link)).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none(), "only to who asks");
        assert!(plain.bytes().await.unwrap().len() > res.bytes().await.unwrap().len());
    }
    // By its plain name, for whoever links it by hand: revalidated with its ETag.
    let res = app.client.get(app.url("/static/sesame.css")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "public, no-cache");
    let etag = res.headers()["etag"].clone();
    let again = app.client.get(app.url("/static/sesame.css")).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let missing = app.client.get(app.url("/static/sesame.0000000000000000.css")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn the_header_shows_the_institution_and_its_logo(t: TestStore) {
    let mut config = test_config(&t.url);
    config.institution_name = "Université de Bretagne".into();
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>".to_vec();
    config.logo = Some(sesame::config::Logo { bytes: svg.clone(), extension: "svg", content_type: "image/svg+xml" });
    let app = spawn_app(config, t.store.clone()).await;
    let home = app.client.get(app.url("/help")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("<span class=\"institution\">Université de Bretagne</span>"), "{home}");
    assert!(home.contains("Aide — Sésame — Université de Bretagne</title>"), "{home}");
    assert!(home.contains("href=\"/help\" aria-current=\"page\""), "the current section is marked");
    let logo = asset_link(&home, "logo.", ".svg");
    let res = app.client.get(app.url(&logo)).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert_eq!(res.bytes().await.unwrap().to_vec(), svg);
    // Without one, no image at all.
    let plain = self::app(&t).await;
    let plain = plain.client.get(plain.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!plain.contains("<img"), "{plain}");
}

async fn oversized_bodies_are_refused(t: TestStore) {
    let app = app(&t).await;
    let res = app
        .client
        .post(app.url("/"))
        .body(vec![b'a'; 17 * 1024])
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn metrics_count_requests_by_route_template(t: TestStore) {
    let app = app(&t).await;
    app.client.get(app.url("/activate/identify?method=uid")).send().await.unwrap();
    app.client.get(app.url("/activate/identify?method=uid")).send().await.unwrap();
    app.client.get(app.url("/nowhere/secret-looking-path")).send().await.unwrap();
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.contains("http_requests_total{") && text.contains("route=\"/activate/identify\""), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("sesame_outbox_backlog 0") && text.contains("sesame_argon2_seconds_total"), "{text}");
    assert!(
        text.contains("sesame_session_reads_total{from=\"cache\"}"),
        "the second page read its session from memory"
    );
    assert!(!text.contains("secret-looking-path"), "raw paths never become labels");
}

async fn everything_follows_a_path_prefix(t: TestStore) {
    let mut config = test_config(&t.url);
    config.public_url = url::Url::parse("https://ent.example.edu/sesame").unwrap();
    let app = spawn_app(config, t.store.clone()).await;
    let slash = app.client.get(app.url("/sesame/")).send().await.unwrap();
    assert_eq!(slash.headers()["location"], "/sesame");
    let home = app.client.get(app.url("/sesame")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let body = home.text().await.unwrap();
    assert!(body.contains("href=\"/sesame/activate\""));
    for extension in [".css", ".js"] {
        let link = asset_link(&body, "sesame.", extension);
        assert!(link.starts_with("/sesame/static/sesame."), "{link}");
        assert_eq!(app.client.get(app.url(&link)).send().await.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(app.client.get(app.url("/activate")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let res = app.client.get(app.url("/sesame/activate/identify?method=uid")).send().await.unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("Path=/sesame"), "{cookie}");
    let res = app.client.get(app.url("/sesame/activate/password")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/sesame/activate", "redirects stay under the prefix");
    assert_eq!(app.client.get(app.url("/sesame/static/sesame.css")).send().await.unwrap().status(), StatusCode::OK);
}

/// What a hostile client posts into a field: appended to a valid value, or instead of it.
/// Each with the title of the page that says why it was refused.
const HOSTILE: [(&str, Hostile, &str); 4] = [
    ("NUL", Hostile::Append("%00"), "<h1>Formulaire refusé</h1>"),
    ("a C0 control", Hostile::Append("%1B%5B31m"), "<h1>Formulaire refusé</h1>"),
    ("10,000 characters", Hostile::Replace(10_000), "<h1>Formulaire refusé</h1>"),
    ("invalid UTF-8", Hostile::Append("%C3%28"), "<h1>Formulaire illisible</h1>"),
];

#[derive(Clone, Copy)]
enum Hostile {
    Append(&'static str),
    Replace(usize),
}

const ANSWER: &str = "Crème  Brûlée";
const NEW_PASSWORD: &str = "Soleil-Vert-Mars-77";
const NEWER_PASSWORD: &str = "Pluie-Grise-Juin-31";

/// One POST route of the contract: what must be done before, where its form is, valid fields,
/// and a page whose answer shows that the journey did not move on.
struct Route {
    action: &'static str,
    form: &'static str,
    before: Before,
    fields: &'static [(&'static str, &'static str)],
    /// GET this: the status and `Location` it gives as long as the POST was not taken.
    unmoved: (&'static str, StatusCode, &'static str),
}

#[derive(Clone, Copy)]
enum Before {
    Nothing,
    Identified,
    Question,
    Sms,
    Photo,
    Recovering,
    /// h22: identified on /recover, and a code sent by SMS.
    CodeSent,
    Answered,
    SignedIn,
}

const IDENTIFY: &[(&str, &str)] = &[("method", "staff_number"), ("identifier", "777"), ("birth_date", "01/01/1990")];
const RECOVER: &[(&str, &str)] = &[("method", "staff_number"), ("identifier", "12345"), ("birth_date", "14/07/1985")];
const SEE_OTHER: StatusCode = StatusCode::SEE_OTHER;

/// Every POST route; those changing Élodie's account last, in an order that keeps the next ones
/// possible (her password changes in the account area, then again by recovery).
const ROUTES: &[Route] = &[
    Route {
        action: "/activate/identify?method=staff_number",
        form: "/activate/identify?method=staff_number",
        before: Before::Nothing,
        fields: IDENTIFY,
        unmoved: ("/activate/question", SEE_OTHER, "/activate"),
    },
    Route {
        action: "/activate/question",
        form: "/activate/question",
        before: Before::Identified,
        fields: &[("question", "first_pet"), ("custom_question", ""), ("answer", ANSWER)],
        unmoved: ("/activate/sms", SEE_OTHER, "/activate/question"),
    },
    Route {
        action: "/activate/question",
        form: "/activate/question",
        before: Before::Identified,
        fields: &[("question", "custom"), ("custom_question", "Quel était le nom de ma rue ?"), ("answer", ANSWER)],
        unmoved: ("/activate/sms", SEE_OTHER, "/activate/question"),
    },
    Route {
        action: "/activate/sms",
        form: "/activate/sms",
        before: Before::Question,
        fields: &[("sms_consent", "yes"), ("phone", "06 12 34 56 78")],
        unmoved: ("/activate/photo", SEE_OTHER, "/activate/sms"),
    },
    Route {
        action: "/activate/photo",
        form: "/activate/photo",
        before: Before::Sms,
        fields: &[("photo_consent", "no")],
        unmoved: ("/activate/password", SEE_OTHER, "/activate/photo"),
    },
    Route {
        action: "/activate/password",
        form: "/activate/password",
        before: Before::Photo,
        fields: &[("password", NEW_PASSWORD), ("password_confirm", NEW_PASSWORD), ("accept_rules", "on")],
        unmoved: ("/activate/done", SEE_OTHER, "/activate/password"),
    },
    Route {
        action: "/login",
        form: "/login",
        before: Before::Nothing,
        fields: &[("login", "elodie.leboeuf"), ("password", GOOD_PASSWORD)],
        unmoved: ("/account", SEE_OTHER, "/login"),
    },
    Route {
        action: "/logout",
        form: "/account",
        before: Before::SignedIn,
        fields: &[],
        unmoved: ("/account", StatusCode::OK, ""),
    },
    Route {
        action: "/account/preferences",
        form: "/account/preferences",
        before: Before::SignedIn,
        fields: &[
            ("sms_consent", "yes"),
            ("phone", "0612345678"),
            ("photo_consent", "yes"),
            ("directory_visible", "no"),
        ],
        unmoved: ("/account", StatusCode::OK, ""),
    },
    // h22: a personal address, confirmed by a code sent to it (one of Élodie's three sends an
    // hour; recovery below uses the two others).
    Route {
        action: "/account/recovery",
        form: "/account/recovery",
        before: Before::SignedIn,
        fields: &[("personal_email", "elodie.perso@example.org")],
        unmoved: ("/account/recovery/confirm", SEE_OTHER, "/account/recovery"),
    },
    Route {
        action: "/account/question",
        form: "/account/question",
        before: Before::SignedIn,
        fields: &[
            ("question", "first_pet"),
            ("custom_question", ""),
            ("answer", ANSWER),
            ("current_password", GOOD_PASSWORD),
        ],
        unmoved: ("/account", StatusCode::OK, ""),
    },
    Route {
        action: "/account/password",
        form: "/account/password",
        before: Before::SignedIn,
        fields: &[("current_password", GOOD_PASSWORD), ("password", NEW_PASSWORD), ("password_confirm", NEW_PASSWORD)],
        unmoved: ("/account", StatusCode::OK, ""),
    },
    Route {
        action: "/recover?method=staff_number",
        form: "/recover?method=staff_number",
        before: Before::Nothing,
        fields: RECOVER,
        unmoved: ("/recover/question", SEE_OTHER, "/recover"),
    },
    // h22: recovery by a one-time code (Élodie accepted SMS in the account area above).
    Route {
        action: "/recover/send",
        form: "/recover/question",
        before: Before::Recovering,
        fields: &[("channel", "sms")],
        unmoved: ("/recover/code", SEE_OTHER, "/recover/question"),
    },
    Route {
        action: "/recover/code",
        form: "/recover/code",
        before: Before::CodeSent,
        fields: &[("code", "000000")],
        unmoved: ("/recover/password", SEE_OTHER, "/recover/question"),
    },
    Route {
        action: "/recover/question",
        form: "/recover/question",
        before: Before::Recovering,
        fields: &[("answer", ANSWER)],
        unmoved: ("/recover/password", SEE_OTHER, "/recover/question"),
    },
    Route {
        action: "/recover/password",
        form: "/recover/password",
        before: Before::Answered,
        fields: &[("password", NEWER_PASSWORD), ("password_confirm", NEWER_PASSWORD)],
        unmoved: ("/recover/done", SEE_OTHER, "/recover/password"),
    },
];

const PEOPLE: &str = "uid,category,given_name,family_name,birth_date,staff_number
100001,staff,Élodie,Le Bœuf,14/07/1985,12345
100003,staff,Ana,Lima,01/01/1990,777
";

async fn seeded(t: &TestStore) -> TestApp {
    use sesame::cli::import::{Options, import_lines, parse_csv};
    let (lines, _) = parse_csv(PEOPLE.as_bytes(), time::OffsetDateTime::now_utc().date()).unwrap();
    import_lines(t.store.as_ref(), lines, "example.edu", Options::default()).await.unwrap();
    app(t).await
}

async fn step(c: &Client, app: &TestApp, path: &str, fields: &[(&str, &str)]) {
    let (s, _, body) = post(c, app, path, path, fields).await;
    assert_eq!(s, SEE_OTHER, "{path}: {body}");
}

/// A new browser that has done what `before` asks for.
async fn prepared(app: &TestApp, before: Before, password: &str) -> Client {
    let c = app.new_client();
    let activation = [
        (Before::Identified, "/activate/identify?method=staff_number", IDENTIFY),
        (
            Before::Question,
            "/activate/question",
            &[("question", "first_pet"), ("custom_question", ""), ("answer", ANSWER)],
        ),
        (Before::Sms, "/activate/sms", &[("sms_consent", "no"), ("phone", "")]),
        (Before::Photo, "/activate/photo", &[("photo_consent", "yes")]),
    ];
    match before {
        Before::Nothing => {}
        Before::Identified | Before::Question | Before::Sms | Before::Photo => {
            for (reached, path, fields) in activation {
                step(&c, app, path, fields).await;
                if std::mem::discriminant(&reached) == std::mem::discriminant(&before) {
                    break;
                }
            }
        }
        Before::Recovering | Before::CodeSent | Before::Answered => {
            let (s, ..) = identify_at(&c, app, "/recover", "staff_number", "12345", "14/07/1985").await;
            assert_eq!(s, SEE_OTHER);
            if let Before::Answered = before {
                step(&c, app, "/recover/question", &[("answer", ANSWER)]).await;
            }
            if let Before::CodeSent = before {
                let (s, _, body) = post(&c, app, "/recover/question", "/recover/send", &[("channel", "sms")]).await;
                assert_eq!(s, SEE_OTHER, "{body}");
            }
        }
        Before::SignedIn => step(&c, app, "/login", &[("login", "elodie.leboeuf"), ("password", password)]).await,
    }
    c
}

/// Élodie activates her account through the wizard, with `GOOD_PASSWORD`.
async fn activate_elodie(app: &TestApp) {
    let elodie = app.new_client();
    step(&elodie, app, "/activate/identify?method=staff_number", RECOVER).await;
    let question = [("question", "first_pet"), ("custom_question", ""), ("answer", ANSWER)];
    step(&elodie, app, "/activate/question", &question).await;
    step(&elodie, app, "/activate/sms", &[("sms_consent", "no"), ("phone", "")]).await;
    step(&elodie, app, "/activate/photo", &[("photo_consent", "no")]).await;
    let fields = [("password", GOOD_PASSWORD), ("password_confirm", GOOD_PASSWORD), ("accept_rules", "on")];
    step(&elodie, app, "/activate/password", &fields).await;
}

/// Élodie's account as it stands, to see that nothing changed.
async fn account_state(app: &TestApp) -> String {
    let id = sesame::domain::identifiers::Identifier::parse(
        sesame::domain::identifiers::IdentificationMethod::Uid,
        "100001",
    )
    .unwrap();
    let person = app.store.find_person(&id).await.unwrap().unwrap();
    let a = app.store.account(person.id).await.unwrap().unwrap();
    format!(
        "{} {} {:?} {} {:?} {} {}",
        a.password_hash, a.question_id, a.custom_question, a.answer_hash, a.phone, a.photo_consent, a.directory_visible
    )
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Every field of every form, the token included, against each hostile value: a 4xx with a
/// page of the site, the journey where it was, nothing changed, never a 5xx; then the same
/// form with valid values is taken, so the refusals were the door's.
async fn every_field_of_every_form_refuses_hostile_bytes(t: TestStore) {
    let app = seeded(&t).await;
    activate_elodie(&app).await;
    let mut password = GOOD_PASSWORD;

    for route in ROUTES {
        let c = prepared(&app, route.before, password).await;
        let (_, form) = get(&c, &app, route.form).await;
        let token = csrf(&form);
        let account = account_state(&app).await;
        let names = std::iter::once("csrf_token").chain(route.fields.iter().map(|(name, _)| *name));
        for target in names {
            for (what, hostile, title) in HOSTILE {
                let body = std::iter::once(("csrf_token", token.as_str()))
                    .chain(route.fields.iter().copied())
                    .map(|(name, value)| {
                        let value = encode(value);
                        let value = match hostile {
                            _ if name != target => value,
                            Hostile::Append(bytes) => format!("{value}{bytes}"),
                            Hostile::Replace(n) => "a".repeat(n),
                        };
                        format!("{name}={value}")
                    })
                    .collect::<Vec<_>>()
                    .join("&");
                let res = c
                    .post(app.url(route.action))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let page = res.text().await.unwrap();
                let case = format!("{what} in {target} of {}", route.action);
                if target == "csrf_token" {
                    assert!(status.is_client_error(), "{case}: {status}");
                    assert!(page.contains("<nav") && page.contains("<h1>"), "{case}: a page of the site: {page}");
                } else {
                    assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {page}");
                    assert!(page.contains("<nav") && page.contains(title), "{case}: a page of the site: {page}");
                }
                let (path, status, location) = route.unmoved;
                let res = c.get(app.url(path)).send().await.unwrap();
                let at = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
                assert_eq!((res.status(), at.as_str()), (status, location), "{case}: the journey moved on");
                assert_eq!(account_state(&app).await, account, "{case}: the account changed");
            }
        }
        let code = (route.action == "/recover/code").then(|| latest_sms_code(&t));
        let fields = match &code {
            Some(code) => vec![("code", code.as_str())],
            None => route.fields.to_vec(),
        };
        let (s, _, body) = post(&c, &app, route.form, route.action, &fields).await;
        assert_eq!(s, SEE_OTHER, "{}: the valid form is taken: {body}", route.action);
        if route.action == "/account/password" {
            password = NEW_PASSWORD;
        }
    }
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);
    let (s, _, _) =
        post(&app.new_client(), &app, "/login", "/login", &[("login", "elodie.leboeuf"), ("password", NEWER_PASSWORD)])
            .await;
    assert_eq!(s, SEE_OTHER, "the server still serves, with the password recovery set");
}

/// An error that names an index but is no refusal by a unique or check constraint (a key too
/// large for its index) is an error of ours: never taken for a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_too_large_for_its_index_is_no_conflict() {
    let t = common::postgres().await;
    let rule = sesame::domain::throttle::SIGN_IN;
    // Random, so that compression cannot make it fit; under 8 kB, so that it is the index's
    // refusal, naming it ("index row size exceeds btree maximum … for index throttle_pkey").
    let key: String = (0..200).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect();
    let e = t.store.throttle_failure(&key, 0, &rule).await.map(drop).unwrap_err();
    assert!(matches!(e, sesame::store::StoreError::Other(_)), "{e:?}");
}

on_both_stores!(
    every_field_of_every_form_refuses_hostile_bytes,
    everything_follows_a_path_prefix,
    metrics_count_requests_by_route_template,
    probes_answer,
    home_is_french_by_default_with_the_contract_headers,
    english_when_the_browser_prefers_it_or_asked_and_remembered,
    unknown_pages_are_a_calm_404,
    static_assets_are_hashed_compressed_and_cached,
    the_header_shows_the_institution_and_its_logo,
    oversized_bodies_are_refused,
    the_menu_follows_the_sign_in,
    the_recovery_page_speaks_of_recovering,
    the_language_switch_keeps_the_page_and_its_method,
    titles_name_the_page_they_show,
    a_refused_password_shows_each_rule_as_it_stood,
    the_steps_link_where_their_sentences_promise,
    the_help_desk_is_shown_as_configured,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_database_through_an_outage() {
    let mut proxy = common::CuttableProxy::start(common::postgres_addr()).await;
    let (_schema, url) = common::postgres_via(proxy.port).await;
    let store = sesame::store::connect(&url).await.unwrap();
    let mut config = test_config(&url);
    config.helpdesk.email = Some("assistance@example.edu".into());
    let app = spawn_app(config, store).await;
    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);

    proxy.cut();
    let during = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(during.status(), StatusCode::SERVICE_UNAVAILABLE);
    // A visitor's form needs no database; what it sends does.
    let form = app.client.get(app.url("/activate/identify?method=uid")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let token = csrf(&form.text().await.unwrap());
    let fields =
        [("csrf_token", token.as_str()), ("method", "uid"), ("identifier", "100001"), ("birth_date", "14/07/1985")];
    let send = |path: &str| app.client.post(app.url(path)).form(&fields).send();
    let page = send("/activate/identify?method=uid").await.unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE, "a page that needs the database");
    assert!(page.headers().contains_key("retry-after"));
    let body = page.text().await.unwrap();
    assert!(body.contains("momentanément indisponible") && !body.contains("sqlx") && !body.contains("5432"), "{body}");
    assert!(body.contains("<h1>Service momentanément indisponible</h1>"), "a page of the site: {body}");
    assert!(body.contains("href=\"mailto:assistance@example.edu\""), "the help desk: {body}");
    assert!(body.contains("<nav") && asset_link(&body, "sesame.", ".css").starts_with("/static/sesame."), "{body}");
    let english = send("/activate/identify?method=uid&lang=en").await.unwrap();
    assert!(english.text().await.unwrap().contains("<h1>Temporarily unavailable</h1>"), "in the person's language");
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);

    proxy.restore().await;
    let mut recovered = false;
    for _ in 0..50 {
        if app.client.get(app.url("/readyz")).send().await.unwrap().status() == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "readyz recovers without a restart");
    let page = app.client.get(app.url("/activate/identify?method=uid")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "and so do the pages");
}

/// A SQLite database that answers reads but cannot take a write (a writer holding the lock, a
/// read-only file) is not ready, and /readyz says so within a second instead of waiting out the
/// busy time-out; once the lock is released it is ready again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_needs_a_database_that_can_be_written() {
    let t = common::sqlite().await;
    let app = spawn_app(test_config(&t.url), t.store.clone()).await;
    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);
    let other = sqlx::SqlitePool::connect(&t.url).await.unwrap();
    let held = other.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let asked = std::time::Instant::now();
    let during = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(during.status(), StatusCode::SERVICE_UNAVAILABLE, "the write lock is held elsewhere");
    assert!(asked.elapsed() < std::time::Duration::from_secs(2), "answered in {:?}", asked.elapsed());
    held.rollback().await.unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if app.client.get(app.url("/readyz")).send().await.unwrap().status() == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again without a restart");

    let read_only = sesame::store::connect(&format!("{}?mode=ro", t.url)).await.unwrap();
    let app = spawn_app(test_config(&t.url), read_only).await;
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "a file that cannot be written");
}

/// The client's `X-Request-Id` is kept only when it is 1 to 64 letters, digits, `.`, `_`, `-`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_tidy_request_id_is_kept() {
    let t = common::sqlite().await;
    let app = spawn_app(test_config(&t.url), t.store.clone()).await;
    let answered = |id: String| {
        let request = app.client.get(app.url("/healthz")).header("x-request-id", id);
        async move { request.send().await.unwrap().headers()["x-request-id"].to_str().unwrap().to_string() }
    };
    for kept in ["abc-123_x.y", &"a".repeat(64)] {
        assert_eq!(answered(kept.to_string()).await, kept);
    }
    for forged in ["a b", "x\" injected=\"1", "ok;rm", &"a".repeat(65), "é"] {
        let id = answered(forged.to_string()).await;
        assert_ne!(id, forged);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a new id of ours: {id}");
    }
}

/// A path that starts like another site's address never becomes a link to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_stays_on_this_site() {
    let t = common::sqlite().await;
    let app = spawn_app(test_config(&t.url), t.store.clone()).await;
    for path in ["//evil.example/x", "/%5Cevil.example", "///evil.example"] {
        let res = app.client.get(format!("http://{}{path}", app.addr)).send().await.unwrap();
        let body = res.text().await.unwrap();
        assert!(body.contains("?lang=en"), "the switch is there: {body}");
        assert!(!body.contains("href=\"//") && !body.contains("href=\"/\\"), "{path}: {body}");
    }
}

/// The text between `<tag>` and `</tag>`, first occurrence.
fn element<'a>(body: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = body.find(&open).unwrap_or_else(|| panic!("no <{tag}> in {body}")) + open.len();
    let name = tag.split(' ').next().unwrap();
    body[start..].split(&format!("</{name}>")).next().unwrap()
}

/// The header's menu: « Se connecter » for a visitor; « Mon compte » and a sign-out button for
/// someone signed in; after signing out, a page that says so.
async fn the_menu_follows_the_sign_in(t: TestStore) {
    let app = seeded(&t).await;
    activate_elodie(&app).await;
    let header = |body: &str| element(body, "header class=\"site\"").to_string();
    let (_, visitor) = get(&app.new_client(), &app, "/help").await;
    let visitor = header(&visitor);
    assert!(visitor.contains("href=\"/login\">Se connecter<") && !visitor.contains("/logout"), "{visitor}");

    let c = prepared(&app, Before::SignedIn, GOOD_PASSWORD).await;
    let (_, page) = get(&c, &app, "/help").await;
    let menu = header(&page);
    assert!(menu.contains("href=\"/account\">Mon compte<") && !menu.contains("Se connecter"), "{menu}");
    assert!(menu.contains("action=\"/logout\"") && menu.contains(">Se déconnecter</button>"), "{menu}");
    let (s, location, _) = post(&c, &app, "/help", "/logout", &[]).await;
    assert_eq!((s, location.as_str()), (SEE_OTHER, "/login?signed_out"));
    let (_, after) = get(&c, &app, &location).await;
    assert!(after.contains("Vous êtes déconnecté.") && header(&after).contains("Se connecter"), "{after}");
    let (_, english) = get(&c, &app, "/login?signed_out&lang=en").await;
    assert!(english.contains("You are signed out."));
    let (s, _) = get(&c, &app, "/account").await;
    assert_eq!(s, SEE_OTHER, "signed out for real");
}

async fn the_recovery_page_speaks_of_recovering(t: TestStore) {
    let app = app(&t).await;
    let (_, fr) = get(&app.client, &app, "/recover?lang=fr").await;
    assert!(fr.contains("Vous pouvez récupérer vos identifiants") && !fr.contains("activer votre compte par"), "{fr}");
    let (_, en) = get(&app.client, &app, "/recover?lang=en").await;
    assert!(en.contains("You can recover your credentials") && !en.contains("activate your account with"), "{en}");
}

async fn the_language_switch_keeps_the_page_and_its_method(t: TestStore) {
    let app = app(&t).await;
    let (_, fr) = get(&app.client, &app, "/activate/identify?method=uid").await;
    assert!(fr.contains("href=\"/activate/identify?method=uid&#38;lang=en\""), "{fr}");
    let (_, en) = get(&app.client, &app, "/activate/identify?method=uid&lang=en").await;
    assert!(en.contains("href=\"/activate/identify?method=uid&#38;lang=fr\""), "{en}");
}

/// Each page's title starts with what its heading says.
async fn titles_name_the_page_they_show(t: TestStore) {
    let app = app(&t).await;
    for path in ["/", "/help", "/rules", "/activate", "/recover", "/login", "/activate/identify?method=uid"] {
        for lang in ["fr", "en"] {
            let (_, body) =
                get(&app.client, &app, &format!("{path}{}lang={lang}", if path.contains('?') { '&' } else { '?' }))
                    .await;
            let (title, heading) = (element(&body, "title"), element(&body, "h1"));
            assert!(title.starts_with(heading), "{path} {lang}: <title>{title}</title> for <h1>{heading}</h1>");
        }
    }
    let (_, identify) = get(&app.client, &app, "/activate/identify?method=staff_number&lang=fr").await;
    assert!(element(&identify, "title").starts_with("Identifiez-vous (Numéro personnel)"));
}

/// After a refused password the field is empty, and the checklist shows where the refused
/// password stood, rule by rule.
async fn a_refused_password_shows_each_rule_as_it_stood(t: TestStore) {
    let app = seeded(&t).await;
    let c = prepared(&app, Before::Photo, GOOD_PASSWORD).await;
    let (_, fresh) = get(&c, &app, "/activate/password").await;
    assert!(fresh.contains("<li data-rule=\"length\">"), "no state before a post");
    let fields = [("password", "motdepasse"), ("password_confirm", "motdepasse"), ("accept_rules", "on")];
    let (s, _, body) = post(&c, &app, "/activate/password", "/activate/password", &fields).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    for (rule, state) in [
        ("length", "unmet"),
        ("lowercase", "met"),
        ("uppercase", "unmet"),
        ("digit", "unmet"),
        ("no_whitespace", "met"),
    ] {
        assert!(body.contains(&format!("<li data-rule=\"{rule}\" class=\"{state}\">")), "{rule} {state}: {body}");
    }
    assert!(body.contains("(pas encore respectée)"), "the state in words, without the script too");
}

/// The seed's sentences and links: changing one's mind about SMS later, reading the rules.
async fn the_steps_link_where_their_sentences_promise(t: TestStore) {
    let app = seeded(&t).await;
    let c = prepared(&app, Before::Question, GOOD_PASSWORD).await;
    let (_, sms) = get(&c, &app, "/activate/sms").await;
    assert!(
        sms.contains("changer d’avis plus tard en <a href=\"/account/preferences\">modifiant votre adhésion au service d’envoi de sms</a>"),
        "{sms}"
    );
    let c = prepared(&app, Before::Photo, GOOD_PASSWORD).await;
    let (_, password) = get(&c, &app, "/activate/password").await;
    assert!(password.contains("Nous vous invitons fortement à le consulter"), "{password}");
}

/// The help desk as configured, on the pages that send people to it and in mails; and
/// nothing that looks like a contact when none is configured.
async fn the_help_desk_is_shown_as_configured(t: TestStore) {
    use sesame::config::Helpdesk;
    let desk = Helpdesk {
        email: Some("assistance@example.edu".into()),
        phone: Some("+33 3 27 51 12 34".into()),
        hours: Some("lundi–vendredi, 8 h 30–17 h".into()),
        url: Some(url::Url::parse("https://support.example.edu/").unwrap()),
    };
    for configured in [true, false] {
        let t = common::postgres_or_sqlite_like(&t).await;
        let mut config = test_config(&t.url);
        config.timezone = sesame::config::Timezone::named("Asia/Kolkata").unwrap();
        if configured {
            config.helpdesk = desk.clone();
        }
        let mail_dir = config.mail_dir.clone();
        let app = spawn_app(config, t.store.clone()).await;
        let (lines, _) =
            sesame::cli::import::parse_csv(PEOPLE.as_bytes(), time::OffsetDateTime::now_utc().date()).unwrap();
        sesame::cli::import::import_lines(t.store.as_ref(), lines, "example.edu", Default::default()).await.unwrap();
        activate_elodie(&app).await;
        let c = app.new_client();
        let (s, _, already) = identify_at(&c, &app, "/activate/identify", "staff_number", "12345", "14/07/1985").await;
        assert_eq!(s, StatusCode::OK);
        let (_, help) = get(&c, &app, "/help").await;
        let mut too_many = String::new();
        for day in 10..30 {
            let (s, _, body) =
                identify_at(&c, &app, "/activate/identify", "staff_number", "777", &format!("{day}/02/1990")).await;
            if s == StatusCode::TOO_MANY_REQUESTS {
                too_many = body;
                break;
            }
        }
        assert!(too_many.contains("Trop de tentatives"), "locked at last");
        let main = |body: &str| element(body, "main id=\"main\" tabindex=\"-1\"").to_string();
        for (page, body) in [
            ("already", main(&already)),
            ("help", main(&help)),
            ("429", main(&too_many)),
            ("footer", element(&help, "footer class=\"site\"").to_string()),
        ] {
            if configured {
                for shown in [
                    "href=\"mailto:assistance@example.edu\"",
                    "href=\"tel:+33327511234\"",
                    "lundi–vendredi, 8 h 30–17 h",
                    "href=\"https://support.example.edu/\"",
                ] {
                    assert!(body.contains(shown), "{page} shows {shown}: {body}");
                }
            } else {
                assert!(
                    !body.contains("mailto:") && !body.contains("tel:") && !body.contains("helpdesk"),
                    "{page}: {body}"
                );
            }
        }
        // The lock ends in whole minutes from now, told in the institution's time (UTC+05:30).
        let local = |minutes: i64| {
            let at = time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes) + time::Duration::minutes(330);
            format!("à partir de {:02}:{:02}", at.hour(), at.minute())
        };
        assert!([14, 15, 16].iter().any(|m| too_many.contains(&local(*m))), "{too_many}");

        // Mails end with the help desk, and the notice of a change is in local time.
        let signed_in = prepared(&app, Before::SignedIn, GOOD_PASSWORD).await;
        let change =
            [("current_password", GOOD_PASSWORD), ("password", NEW_PASSWORD), ("password_confirm", NEW_PASSWORD)];
        let (s, ..) = post(&signed_in, &app, "/account/password", "/account/password", &change).await;
        assert_eq!(s, SEE_OTHER);
        let mails = common::mail_files(&mail_dir, 2).await;
        assert_eq!(mails.len(), 2);
        for mail in &mails {
            // Quoted-printable: `=C2=A0` is the no-break space before the colon.
            assert_eq!(mail.contains("Courriel=C2=A0: assistance@example.edu"), configured, "{mail}");
        }
        assert!(mails.iter().any(|m| m.contains("(UTC+05:30)")), "the notice in local time: {mails:?}");
    }
}
