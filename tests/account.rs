//! Forgotten credentials, sign-in and the account pages over real HTTP, on both stores.

mod common;

use common::journey::{GOOD_PASSWORD, csrf, get, identify_at, post, up_to_password};
use common::{TestApp, TestStore, spawn_app, test_config};
use reqwest::{Client, StatusCode};
use sesame::cli::import::{Options, import_lines, parse_csv};
use sesame::domain::identifiers::{IdentificationMethod, Identifier};

const PEOPLE: &str = "uid,category,given_name,family_name,birth_date,staff_number
100001,staff,Élodie,Le Bœuf,14/07/1985,12345
100003,staff,Ana,Lima,01/01/1990,777
";

async fn app(t: &TestStore) -> TestApp {
    app_with(t, test_config(&t.url)).await
}

async fn app_with(t: &TestStore, config: sesame::config::Config) -> TestApp {
    let today = time::OffsetDateTime::now_utc().date();
    let (lines, _) = parse_csv(PEOPLE.as_bytes(), today).unwrap();
    import_lines(t.store.as_ref(), lines, "example.edu", Options::default()).await.unwrap();
    spawn_app(config, t.store.clone()).await
}

/// Élodie activates her account with GOOD_PASSWORD and the answer « Crème  Brûlée ».
async fn activated(app: &TestApp) {
    let c = app.new_client();
    up_to_password(&c, app).await;
    let fields = [("password", GOOD_PASSWORD), ("password_confirm", GOOD_PASSWORD), ("accept_rules", "on")];
    let (s, l, _) = post(&c, app, "/activate/password", "/activate/password", &fields).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/activate/done"));
}

async fn person_id(app: &TestApp) -> i64 {
    let id = Identifier::parse(IdentificationMethod::Uid, "100001").unwrap();
    app.store.find_person(&id).await.unwrap().unwrap().id
}

async fn sign_in(client: &Client, app: &TestApp, login: &str, password: &str) -> (StatusCode, String, String) {
    post(client, app, "/login", "/login", &[("login", login), ("password", password)]).await
}

async fn change_password(client: &Client, app: &TestApp, current: &str, new: &str) -> (StatusCode, String, String) {
    let fields = [("current_password", current), ("password", new), ("password_confirm", new)];
    post(client, app, "/account/password", "/account/password", &fields).await
}

async fn recovery_accepts_the_answer_in_another_case_without_accents(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let c = app.new_client();
    let (s, l, _) = identify_at(&c, &app, "/recover", "staff_number", "12345", "14/07/1985").await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/question"));
    let (_, page) = get(&c, &app, "/recover/question").await;
    assert!(page.contains("animal"), "the person's own question is shown");
    let res = c.get(app.url("/recover/password")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/recover/question", "no password before the answer");
    let (s, l, _) = post(&c, &app, "/recover/question", "/recover/question", &[("answer", "  CREME brulee ")]).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/password"));
    let new = "Nouveau-Ciel-Bleu-77";
    let (s, _, body) = post(
        &c,
        &app,
        "/recover/password",
        "/recover/password",
        &[("password", GOOD_PASSWORD), ("password_confirm", GOOD_PASSWORD)],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the current password is one of the last three");
    assert!(body.contains("password-error"));
    assert!(!body.contains("name=\"current_password\""), "recovery's form: no current password to give");
    let (s, l, _) =
        post(&c, &app, "/recover/password", "/recover/password", &[("password", new), ("password_confirm", new)]).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/done"));
    let (_, done) = get(&c, &app, "/recover/done").await;
    assert!(done.contains("elodie.leboeuf"), "the login is shown");
    let (s, l, _) = sign_in(&app.new_client(), &app, "elodie.leboeuf", new).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/account"));
    let (s, _, _) = sign_in(&app.new_client(), &app, "elodie.leboeuf", GOOD_PASSWORD).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the old password no longer works");
}

async fn five_wrong_answers_lock_recovery(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let c = app.new_client();
    identify_at(&c, &app, "/recover", "staff_number", "12345", "14/07/1985").await;
    for attempt in 1..=5 {
        let (s, _, body) = post(&c, &app, "/recover/question", "/recover/question", &[("answer", "tiramisu")]).await;
        if attempt < 5 {
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "attempt {attempt}");
            assert!(body.contains("answer-error"));
        } else {
            assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the fifth wrong answer locks");
        }
    }
    let other = app.new_client();
    identify_at(&other, &app, "/recover", "staff_number", "12345", "14/07/1985").await;
    let (s, _, _) = post(&other, &app, "/recover/question", "/recover/question", &[("answer", "creme brulee")]).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "locked for the account, whatever the session");
}

async fn recovery_steps_asked_too_early_redirect_to_the_first_missing_one(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let c = app.new_client();
    let expect = |path: &'static str, location: &'static str| {
        let c = c.clone();
        let url = app.url(path);
        async move {
            let res = c.get(url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
            assert_eq!(res.headers()["location"], location, "{path}");
        }
    };
    for path in ["/recover/question", "/recover/password", "/recover/done"] {
        expect(path, "/recover").await;
    }
    identify_at(&c, &app, "/recover", "staff_number", "12345", "14/07/1985").await;
    for path in ["/recover/password", "/recover/done"] {
        expect(path, "/recover/question").await;
    }
    let (s, ..) = post(&c, &app, "/recover/question", "/recover/question", &[("answer", "creme brulee")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    expect("/recover/done", "/recover/password").await;
}

async fn recovery_answers_follow_the_answer_length_rules(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let c = app.new_client();
    identify_at(&c, &app, "/recover", "staff_number", "12345", "14/07/1985").await;
    // Too short or too long to be anyone's answer: said so, and no failure counted (five would lock).
    for attempt in 0..6 {
        let answer = if attempt % 2 == 0 { "ab".to_string() } else { "a".repeat(101) };
        let (s, _, body) = post(&c, &app, "/recover/question", "/recover/question", &[("answer", &answer)]).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        let rule = if attempt % 2 == 0 { "au moins 3 caractères" } else { "pas dépasser 100 caractères" };
        assert!(body.contains(rule) && body.contains("answer-error"), "{body}");
    }
    let (s, l, _) = post(&c, &app, "/recover/question", "/recover/question", &[("answer", "Crème Brûlée")]).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/password"));
}

/// One list of forbidden answers and one of personal words, whatever the journey: an answer
/// that is any of her identifiers, her uid, login or birth date, and a password made of her
/// names and birth year, are refused alike at activation, in recovery and in the account area.
async fn the_same_personal_rules_hold_in_every_journey(t: TestStore) {
    use sesame::domain::password_policy::{PasswordContext, PasswordPolicy};
    let app = app(&t).await;
    let weak = "LeBoeuf1985!";
    let nowhere = PasswordContext { login: "someone.else", user_inputs: &[] };
    assert_eq!(PasswordPolicy::default().check(weak, &nowhere), Vec::new(), "weak only for her");
    let forbidden = ["12345", "100001", "elodie.leboeuf", "14/07/1985", "1985-07-14"];
    let refuses_answer =
        |body: &str| body.contains("answer-error") && body.contains("ne doit pas reprendre votre identifiant");
    let refuses_password = |body: &str| body.contains("password-error") && body.contains("trop facile à deviner");

    // Activation, identified by her uid: her staff number is forbidden as well.
    let c = app.new_client();
    let (s, ..) = common::journey::identify(&c, &app, "uid", "100001", "14/07/1985").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    for answer in forbidden {
        let q = [("question", "first_pet"), ("custom_question", ""), ("answer", answer)];
        let (s, _, body) = post(&c, &app, "/activate/question", "/activate/question", &q).await;
        assert!(s == StatusCode::UNPROCESSABLE_ENTITY && refuses_answer(&body), "activation, {answer}: {s}");
    }
    let q = [("question", "first_pet"), ("custom_question", ""), ("answer", "Crème  Brûlée")];
    post(&c, &app, "/activate/question", "/activate/question", &q).await;
    post(&c, &app, "/activate/sms", "/activate/sms", &[("sms_consent", "no"), ("phone", "")]).await;
    post(&c, &app, "/activate/photo", "/activate/photo", &[("photo_consent", "no")]).await;
    let fields = [("password", weak), ("password_confirm", weak), ("accept_rules", "on")];
    let (s, _, body) = post(&c, &app, "/activate/password", "/activate/password", &fields).await;
    assert!(s == StatusCode::UNPROCESSABLE_ENTITY && refuses_password(&body), "activation: {s}");
    let fields = [("password", GOOD_PASSWORD), ("password_confirm", GOOD_PASSWORD), ("accept_rules", "on")];
    let (s, ..) = post(&c, &app, "/activate/password", "/activate/password", &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // The account area.
    let c = app.new_client();
    sign_in(&c, &app, "elodie.leboeuf", GOOD_PASSWORD).await;
    for answer in forbidden {
        let q = [
            ("question", "first_pet"),
            ("custom_question", ""),
            ("answer", answer),
            ("current_password", GOOD_PASSWORD),
        ];
        let (s, _, body) = post(&c, &app, "/account/question", "/account/question", &q).await;
        assert!(s == StatusCode::UNPROCESSABLE_ENTITY && refuses_answer(&body), "account, {answer}: {s}");
    }
    let (s, _, body) = change_password(&c, &app, GOOD_PASSWORD, weak).await;
    assert!(s == StatusCode::UNPROCESSABLE_ENTITY && refuses_password(&body), "account: {s}");

    // Recovery.
    let c = app.new_client();
    identify_at(&c, &app, "/recover", "staff_number", "12345", "14/07/1985").await;
    post(&c, &app, "/recover/question", "/recover/question", &[("answer", "creme brulee")]).await;
    let fields = [("password", weak), ("password_confirm", weak)];
    let (s, _, body) = post(&c, &app, "/recover/password", "/recover/password", &fields).await;
    assert!(s == StatusCode::UNPROCESSABLE_ENTITY && refuses_password(&body), "recovery: {s}");
}

async fn recovery_before_activation_leads_to_activation(t: TestStore) {
    let app = app(&t).await;
    let (s, _, body) = identify_at(&app.client, &app, "/recover", "staff_number", "777", "01/01/1990").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("href=\"/activate\""));
    let (s, _, _) = identify_at(&app.new_client(), &app, "/recover", "staff_number", "777", "02/01/1990").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "recovery identifies exactly as activation does");
}

async fn the_history_refuses_the_last_three_and_accepts_the_fourth(t: TestStore) {
    let config = test_config(&t.url);
    let mail_dir = config.mail_dir.clone();
    let app = app_with(&t, config).await;
    activated(&app).await;
    let c = app.new_client();
    sign_in(&c, &app, "elodie.leboeuf", GOOD_PASSWORD).await;
    let [p2, p3, p4] = ["Deuxieme-Piste-Verte-2", "Troisieme-Piste-Rouge-3", "Quatrieme-Piste-Noire-4"];
    for (current, new) in [(GOOD_PASSWORD, p2), (p2, p3)] {
        let (s, l, _) = change_password(&c, &app, current, new).await;
        assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/account"), "{new}");
    }
    for old in [GOOD_PASSWORD, p2, p3] {
        let (s, _, body) = change_password(&c, &app, p3, old).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{old} is among the last three");
        assert!(body.contains("3 derniers"), "{old}");
        assert!(body.contains("name=\"current_password\""), "the account's form, asking for the current password");
    }
    change_password(&c, &app, p3, p4).await;
    let (s, l, _) = change_password(&c, &app, p4, GOOD_PASSWORD).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/account"), "four changes back is allowed again");
    assert_eq!(
        app.store.password_history(person_id(&app).await, 10).await.unwrap().len(),
        3,
        "exactly the depth is kept"
    );
    // The activation mail, then one notice per change (4), each without any password.
    let all = common::mail_files(&mail_dir, 5).await;
    let notices: Vec<&String> = all.iter().filter(|m| m.contains("Subject: Votre mot de passe a")).collect();
    assert_eq!(notices.len(), 4, "{all:?}");
    for notice in notices {
        assert!(notice.contains("127.0.0.1"), "says from which address: {notice}");
        for password in [GOOD_PASSWORD, p2, p3, p4] {
            assert!(!notice.contains(password), "never a password");
        }
    }
}

async fn sign_in_waits_grow_after_repeated_failures(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    for login in ["elodie.leboeuf", "nobody.here"] {
        for attempt in 1..=3 {
            let (s, _, body) = sign_in(&app.new_client(), &app, login, "Wrong-Password-1").await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{login} attempt {attempt}");
            assert!(body.contains("Identifiant ou mot de passe incorrect."));
        }
        let c = app.new_client();
        let (_, form) = get(&c, &app, "/login").await;
        let res = c
            .post(app.url("/login"))
            .form(&[("csrf_token", csrf(&form).as_str()), ("login", login), ("password", GOOD_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{login}: waits, even with the right password");
        let retry: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&retry), "{retry}");
    }
    let (s, _, _) = sign_in(&app.new_client(), &app, " ELODIE.LEBOEUF", GOOD_PASSWORD).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the lock holds whatever the case and spacing");
}

async fn unknown_login_and_wrong_password_look_the_same(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let (s1, _, a) = sign_in(&app.new_client(), &app, "elodie.leboeuf", "Wrong-Password-1").await;
    let (s2, _, b) = sign_in(&app.new_client(), &app, "elodie.leboeuF", "Wrong-Password-1").await;
    let (s3, _, c) = sign_in(&app.new_client(), &app, "nobody.there", "Wrong-Password-1").await;
    assert_eq!(
        (s1, s2, s3),
        (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNPROCESSABLE_ENTITY)
    );
    let strip = |body: &str, login: &str| {
        body.lines().filter(|l| !l.contains("csrf_token")).collect::<String>().replace(login, "LOGIN")
    };
    assert_eq!(strip(&a, "elodie.leboeuf"), strip(&c, "nobody.there"));
    assert_eq!(strip(&a, "elodie.leboeuf"), strip(&b, "elodie.leboeuF"));
    // What could be no one's login or address is answered the same way.
    let (s4, _, d) = sign_in(&app.new_client(), &app, "élodie le bœuf", "Wrong-Password-1").await;
    assert_eq!(s4, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(strip(&a, "elodie.leboeuf"), strip(&d, "élodie le bœuf"));
}

async fn the_address_signs_in_as_the_login_does(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let (s, l, _) = sign_in(&app.new_client(), &app, " Elodie.LeBoeuf@Example.EDU ", GOOD_PASSWORD).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/account"));
}

async fn signing_in_changes_the_session_id_and_logout_ends_it(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let c = app.new_client();
    let res = c.get(app.url("/login")).send().await.unwrap();
    let before = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let form = res.text().await.unwrap();
    let res = c
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf(&form).as_str()),
            ("login", "elodie.leboeuf@example.edu"),
            ("password", GOOD_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/account", "sign-in by institutional address");
    let after = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    assert_ne!(before, after, "a new session id at sign-in");
    let fixed = app.new_client().get(app.url("/account")).header("cookie", &before).send().await.unwrap();
    assert_eq!(fixed.status(), StatusCode::SEE_OTHER, "the id from before sign-in opens nothing");

    let (s, page) = get(&c, &app, "/account").await;
    assert_eq!(s, StatusCode::OK);
    for shown in ["elodie.leboeuf", "100001", "elodie.leboeuf@example.edu", "+33 6 •• •• •• 78"] {
        assert!(page.contains(shown), "overview shows {shown}");
    }
    let res = c.post(app.url("/logout")).form(&[("csrf_token", csrf(&page).as_str())]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let replay = app.new_client().get(app.url("/account")).header("cookie", &after).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER, "the old cookie no longer opens /account");
    assert_eq!(replay.headers()["location"], "/login");
}

async fn preferences_are_saved_and_shown_again(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let c = app.new_client();
    sign_in(&c, &app, "elodie.leboeuf", GOOD_PASSWORD).await;
    let bad =
        [("sms_consent", "yes"), ("phone", "01 23 45 67 89"), ("photo_consent", "maybe"), ("directory_visible", "no")];
    let (s, _, body) = post(&c, &app, "/account/preferences", "/account/preferences", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("phone-error")
            && body.contains("photo_consent-error")
            && body.contains("value=\"01 23 45 67 89\"")
    );
    let good = [("sms_consent", "no"), ("phone", ""), ("photo_consent", "yes"), ("directory_visible", "no")];
    let (s, l, _) = post(&c, &app, "/account/preferences", "/account/preferences", &good).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/account"));
    let account = app.store.account(person_id(&app).await).await.unwrap().unwrap();
    assert_eq!(
        (account.sms_consent, account.phone.as_deref(), account.photo_consent, account.directory_visible),
        (false, None, true, false)
    );
    let (_, form) = get(&c, &app, "/account/preferences").await;
    assert!(
        form.contains("name=\"sms_consent\" value=\"no\" checked")
            && form.contains("name=\"photo_consent\" value=\"yes\" checked")
    );
    assert!(form.contains("name=\"directory_visible\" value=\"no\" checked"));
}

async fn a_new_question_needs_the_current_password(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let c = app.new_client();
    sign_in(&c, &app, "elodie.leboeuf", GOOD_PASSWORD).await;
    let fields = [
        ("question", "custom"),
        ("custom_question", "Le nom de mon premier vélo ?"),
        ("answer", "Rossinante"),
        ("current_password", "nope"),
    ];
    let (s, _, body) = post(&c, &app, "/account/question", "/account/question", &fields).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("current_password-error"));
    let fields = [
        ("question", "custom"),
        ("custom_question", "Le nom de mon premier vélo ?"),
        ("answer", "Rossinante"),
        ("current_password", GOOD_PASSWORD),
    ];
    let (s, l, _) = post(&c, &app, "/account/question", "/account/question", &fields).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/account"));
    let (_, page) = get(&c, &app, "/account").await;
    assert!(page.contains("Le nom de mon premier vélo ?") && page.contains("question joker a été modifiée"));
    // Recovery now asks the new question and takes the new answer.
    let r = app.new_client();
    identify_at(&r, &app, "/recover", "staff_number", "12345", "14/07/1985").await;
    let (s, l, _) = post(&r, &app, "/recover/question", "/recover/question", &[("answer", "rossinante")]).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/password"));
}

async fn weaker_hashes_are_upgraded_at_sign_in(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let id = person_id(&app).await;
    let weak = sesame::hashing::Hasher::new(8_192, 1, 1, 1).unwrap();
    let weak_hash = weak.hash(&secrecy::SecretString::from(GOOD_PASSWORD.to_owned())).await.unwrap();
    let strong = app.store.account(id).await.unwrap().unwrap().password_hash;
    app.store.rehash_password(id, &strong, &weak_hash).await.unwrap();
    assert!(app.store.account(id).await.unwrap().unwrap().password_hash.contains("m=8192"));
    let (s, _, _) = sign_in(&app.new_client(), &app, "elodie.leboeuf", GOOD_PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let now = app.store.account(id).await.unwrap().unwrap().password_hash;
    assert!(now.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{now}");
}

/// An answer hashed before punctuation counted as spaces still opens recovery, typed as then,
/// and is re-hashed in today's form on that use: « l hay les roses » works afterwards.
async fn an_answer_hashed_in_the_old_form_is_migrated_on_use(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let id = person_id(&app).await;
    let hasher = sesame::hashing::Hasher::owasp();
    let legacy = hasher.hash(&secrecy::SecretString::from("l'hay-les-roses".to_owned())).await.unwrap();
    let current = app.store.account(id).await.unwrap().unwrap().answer_hash;
    app.store.rehash_answer(id, &current, &legacy).await.unwrap();
    // Only over the hash it read: a concurrent change of the answer wins.
    app.store.rehash_answer(id, &current, "$argon2id$stale").await.unwrap();
    assert_eq!(app.store.account(id).await.unwrap().unwrap().answer_hash, legacy);
    let recover = |answer: &'static str| {
        let app = &app;
        async move {
            let c = app.new_client();
            identify_at(&c, app, "/recover", "staff_number", "12345", "14/07/1985").await;
            post(&c, app, "/recover/question", "/recover/question", &[("answer", answer)]).await
        }
    };
    let (s, _, _) = recover("l hay les roses").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not yet: the stored hash is of « l'hay-les-roses »");
    let (s, l, _) = recover("L’Haÿ-les-Roses").await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/password"));
    let migrated = app.store.account(id).await.unwrap().unwrap().answer_hash;
    assert_ne!(migrated, legacy);
    assert!(hasher.matches(&secrecy::SecretString::from("l hay les roses".to_owned()), &migrated).await.unwrap());
    let (s, l, _) = recover("L HAY les roses").await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/password"));
}

async fn an_idle_signed_in_session_ends(t: TestStore) {
    let mut config = test_config(&t.url);
    config.session_idle = time::Duration::seconds(1);
    let app = app_with(&t, config).await;
    activated(&app).await;
    let c = app.new_client();
    sign_in(&c, &app, "elodie.leboeuf", GOOD_PASSWORD).await;
    assert_eq!(c.get(app.url("/account")).send().await.unwrap().status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let res = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!((res.status(), res.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
}

async fn a_helpdesk_disable_ends_a_signed_in_session(t: TestStore) {
    let app = app(&t).await;
    activated(&app).await;
    let c = app.new_client();
    sign_in(&c, &app, "elodie.leboeuf", GOOD_PASSWORD).await;
    assert_eq!(c.get(app.url("/account")).send().await.unwrap().status(), StatusCode::OK);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["account", "disable", "elodie.leboeuf"])
        .env("DATABASE_URL", &t.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let res = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!((res.status(), res.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
    let (s, l, _) = sign_in(&app.new_client(), &app, "elodie.leboeuf", GOOD_PASSWORD).await;
    assert_ne!((s, l.as_str()), (StatusCode::SEE_OTHER, "/account"), "no new sign-in either");
}

async fn a_forged_form_gets_a_translated_403(t: TestStore) {
    let app = app(&t).await;
    get(&app.client, &app, "/login?lang=en").await;
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("csrf_token", "forged"), ("login", "x"), ("password", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("This form has expired"));
}

on_both_stores!(
    the_same_personal_rules_hold_in_every_journey,
    the_address_signs_in_as_the_login_does,
    recovery_steps_asked_too_early_redirect_to_the_first_missing_one,
    recovery_answers_follow_the_answer_length_rules,
    an_idle_signed_in_session_ends,
    a_helpdesk_disable_ends_a_signed_in_session,
    a_forged_form_gets_a_translated_403,
    recovery_accepts_the_answer_in_another_case_without_accents,
    five_wrong_answers_lock_recovery,
    recovery_before_activation_leads_to_activation,
    the_history_refuses_the_last_three_and_accepts_the_fourth,
    sign_in_waits_grow_after_repeated_failures,
    unknown_login_and_wrong_password_look_the_same,
    signing_in_changes_the_session_id_and_logout_ends_it,
    preferences_are_saved_and_shown_again,
    a_new_question_needs_the_current_password,
    weaker_hashes_are_upgraded_at_sign_in,
    an_answer_hashed_in_the_old_form_is_migrated_on_use,
);

/// The attacks of the red-team drill (issue 20) and the help desk's trail of failures (issue 18).
mod hardening {
    use super::*;
    use sesame::store::AuditQuery;

    const NEW_PASSWORD: &str = "Nouveau-Ciel-Bleu-77";

    async fn signed_in_client(app: &TestApp) -> Client {
        let c = app.new_client();
        let (s, l, _) = sign_in(&c, app, "elodie.leboeuf", GOOD_PASSWORD).await;
        assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/account"));
        c
    }

    /// Where `GET path` leads: 200 and no location, or a redirect and its target.
    async fn lands(c: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
        let res = c.get(app.url(path)).send().await.unwrap();
        let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (res.status(), location)
    }

    async fn a_wrong_current_password_is_a_failed_sign_in_under_its_lock(t: TestStore) {
        let app = app(&t).await;
        activated(&app).await;
        let c = signed_in_client(&app).await;
        for attempt in 1..=3 {
            let (s, _, _) = change_password(&c, &app, "Wrong-Password-1", NEW_PASSWORD).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "attempt {attempt}");
        }
        let (s, _, _) = change_password(&c, &app, GOOD_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the third failure locks, even the right password");
        let q = [
            ("question", "first_pet"),
            ("custom_question", ""),
            ("answer", "Tarte Tatin"),
            ("current_password", GOOD_PASSWORD),
        ];
        let (s, _, _) = post(&c, &app, "/account/question", "/account/question", &q).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the question form too");
        let (s, _, _) = sign_in(&app.new_client(), &app, "elodie.leboeuf", GOOD_PASSWORD).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the same lock as /login");
    }

    async fn a_password_change_ends_the_other_sessions_and_a_recovery_ends_all(t: TestStore) {
        let app = app(&t).await;
        activated(&app).await;
        let (a, b) = (signed_in_client(&app).await, signed_in_client(&app).await);
        let (s, l, _) = change_password(&a, &app, GOOD_PASSWORD, NEW_PASSWORD).await;
        assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/account"));
        assert_eq!(lands(&a, &app, "/account").await.0, StatusCode::OK, "the session that made the change stays");
        assert_eq!(lands(&b, &app, "/account").await, (StatusCode::SEE_OTHER, "/login".into()), "the other ends");

        let r = app.new_client();
        identify_at(&r, &app, "/recover", "staff_number", "12345", "14/07/1985").await;
        post(&r, &app, "/recover/question", "/recover/question", &[("answer", "Crème Brûlée")]).await;
        let recovered = "Troisieme-Ciel-Vert-88";
        let fields = [("password", recovered), ("password_confirm", recovered)];
        let (s, l, _) = post(&r, &app, "/recover/password", "/recover/password", &fields).await;
        assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/done"));
        assert_eq!(lands(&a, &app, "/account").await, (StatusCode::SEE_OTHER, "/login".into()), "a recovery ends all");
    }

    async fn a_new_password_ends_the_recoveries_under_way(t: TestStore) {
        let app = app(&t).await;
        activated(&app).await;
        let answered = || async {
            let r = app.new_client();
            identify_at(&r, &app, "/recover", "staff_number", "12345", "14/07/1985").await;
            post(&r, &app, "/recover/question", "/recover/question", &[("answer", "Crème Brûlée")]).await;
            assert_eq!(lands(&r, &app, "/recover/password").await.0, StatusCode::OK);
            r
        };
        let (first, other) = (answered().await, answered().await);
        let fields = [("password", NEW_PASSWORD), ("password_confirm", NEW_PASSWORD)];
        let (s, l, _) = post(&first, &app, "/recover/password", "/recover/password", &fields).await;
        assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/done"));
        let ended = (StatusCode::SEE_OTHER, "/recover".to_string());
        assert_eq!(lands(&other, &app, "/recover/password").await, ended, "the other recovery is over");

        let late = answered().await;
        let c = app.new_client();
        let (s, _, _) = sign_in(&c, &app, "elodie.leboeuf", NEW_PASSWORD).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let (s, _, _) = change_password(&c, &app, NEW_PASSWORD, "Troisieme-Ciel-Vert-88").await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(lands(&late, &app, "/recover/password").await, ended, "a change in the account area ends it too");
    }

    async fn a_preference_change_sends_a_notice(t: TestStore) {
        let config = test_config(&t.url);
        let mail_dir = config.mail_dir.clone();
        let app = app_with(&t, config).await;
        activated(&app).await;
        let c = signed_in_client(&app).await;
        let fields = [("sms_consent", "no"), ("phone", ""), ("photo_consent", "yes"), ("directory_visible", "no")];
        let (s, l, _) = post(&c, &app, "/account/preferences", "/account/preferences", &fields).await;
        assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/account"));
        let all = common::mail_files(&mail_dir, 2).await;
        assert_eq!(all.len(), 2, "the activation mail, then the notice");
        assert!(all.iter().any(|m| m.contains("Subject: Vos ") && m.contains("127.0.0.1")), "{all:?}");
    }

    async fn the_csrf_token_changes_at_sign_in_and_identification(t: TestStore) {
        let app = app(&t).await;
        activated(&app).await;
        let c = app.new_client();
        let (_, form) = get(&c, &app, "/login").await;
        let before = csrf(&form);
        let fields = [("csrf_token", before.as_str()), ("login", "elodie.leboeuf"), ("password", GOOD_PASSWORD)];
        let res = c.post(app.url("/login")).form(&fields).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let res = c.post(app.url("/logout")).form(&[("csrf_token", before.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "the token from before the sign-in is refused");
        assert_eq!(lands(&c, &app, "/account").await.0, StatusCode::OK, "still signed in");

        let c = app.new_client();
        let (_, form) = get(&c, &app, "/recover?method=staff_number").await;
        let before = csrf(&form);
        let fields = [
            ("csrf_token", before.as_str()),
            ("method", "staff_number"),
            ("identifier", "12345"),
            ("birth_date", "14/07/1985"),
        ];
        let res = c.post(app.url("/recover")).form(&fields).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let fields = [("csrf_token", before.as_str()), ("answer", "Crème Brûlée")];
        let res = c.post(app.url("/recover/question")).form(&fields).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "the token from before the identification is refused");
        let (s, l, _) = post(&c, &app, "/recover/question", "/recover/question", &[("answer", "Crème Brûlée")]).await;
        assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/password"), "the new token works");
    }

    /// A sign-in attempt with a wrong password from `forwarded` (an `X-Forwarded-For` value).
    async fn wrong_sign_in_from(app: &TestApp, forwarded: &str, login: &str) -> StatusCode {
        let c = app.new_client();
        let (_, form) = get(&c, app, "/login").await;
        let fields =
            [("csrf_token", csrf(&form)), ("login", login.to_string()), ("password", "Wrong-Password-1".into())];
        let res = c.post(app.url("/login")).header("x-forwarded-for", forwarded).form(&fields).send().await.unwrap();
        res.status()
    }

    async fn clients_behind_an_ipv4_proxy_keep_their_own_counters_on_a_dual_stack_bind(t: TestStore) {
        let mut config = test_config(&t.url);
        config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        let today = time::OffsetDateTime::now_utc().date();
        let (lines, _) = parse_csv(PEOPLE.as_bytes(), today).unwrap();
        import_lines(t.store.as_ref(), lines, "example.edu", Options::default()).await.unwrap();
        // Bound to [::]: IPv4 peers arrive as ::ffff:127.0.0.1.
        let listener = tokio::net::TcpListener::bind("[::]:0").await.expect("bind [::]");
        let port = listener.local_addr().unwrap().port();
        let state = sesame::AppState::new(config, t.store.clone());
        tokio::spawn(async move { sesame::web::serve(listener, state, std::future::pending()).await.expect("serve") });
        let app = TestApp { addr: ([127, 0, 0, 1], port).into(), client: common::browser(), store: t.store.clone() };
        for n in 0..20 {
            let s = wrong_sign_in_from(&app, "198.51.100.7:5678", &format!("nobody{n}")).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "failure {n}");
        }
        assert_eq!(wrong_sign_in_from(&app, "198.51.100.7", "someone").await, StatusCode::TOO_MANY_REQUESTS);
        for other in ["198.51.100.8", "[2001:db8::1]:443"] {
            let s = wrong_sign_in_from(&app, other, "someone").await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{other} has its own counter");
        }
    }

    async fn birth_date_guesses_add_up_over_every_identifier_of_a_person(t: TestStore) {
        let app = app(&t).await;
        for day in 1..=5 {
            let born = format!("0{day}/01/1980");
            let (s, _, _) = identify_at(&app.new_client(), &app, "/recover", "staff_number", "12345", &born).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{born}");
        }
        let (s, _, _) = identify_at(&app.new_client(), &app, "/activate/identify", "uid", "100001", "06/01/1980").await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "another identifier of the same person is locked too");
        let (s, _, _) = identify_at(&app.new_client(), &app, "/activate/identify", "uid", "999999", "06/01/1980").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "an unknown identifier has its own counter");
        let (s, _, _) =
            identify_at(&app.new_client(), &app, "/activate/identify", "staff_number", "777", "01/01/1990").await;
        assert_eq!(s, StatusCode::SEE_OTHER, "someone else is not locked");
    }

    async fn the_login_and_the_address_of_one_account_share_one_lock(t: TestStore) {
        let app = app(&t).await;
        activated(&app).await;
        for name in ["elodie.leboeuf", "Elodie.LeBoeuf@example.edu", "elodie.leboeuf"] {
            let (s, _, _) = sign_in(&app.new_client(), &app, name, "Wrong-Password-1").await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        }
        for name in ["elodie.leboeuf", "elodie.leboeuf@example.edu"] {
            let (s, _, _) = sign_in(&app.new_client(), &app, name, GOOD_PASSWORD).await;
            assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{name}: three failures on one account lock it");
        }
    }

    async fn failed_attempts_leave_a_trail_the_help_desk_reads(t: TestStore) {
        let app = app(&t).await;
        activated(&app).await;
        identify_at(&app.new_client(), &app, "/recover", "staff_number", "12345", "02/02/1980").await;
        identify_at(&app.new_client(), &app, "/activate/identify", "staff_number", "424242", "03/03/1983").await;
        let r = app.new_client();
        identify_at(&r, &app, "/recover", "staff_number", "12345", "14/07/1985").await;
        post(&r, &app, "/recover/question", "/recover/question", &[("answer", "tiramisu")]).await;
        sign_in(&app.new_client(), &app, "elodie.leboeuf", "Wrong-Password-1").await;

        let query = AuditQuery { since: None, person_id: Some(person_id(&app).await), limit: 50 };
        let trail = app.store.audit_trail(&query).await.unwrap();
        for kind in ["identification_failed", "answer_wrong", "sign_in_failed"] {
            let event = trail.iter().find(|e| e.kind == kind).unwrap_or_else(|| panic!("{kind}: {trail:?}"));
            assert_eq!(event.client_addr.as_deref(), Some("127.0.0.1"), "{kind}");
        }
        let all = app.store.audit_trail(&AuditQuery { since: None, person_id: None, limit: 50 }).await.unwrap();
        let failed_ids = all.iter().filter(|e| e.kind == "identification_failed").count();
        assert_eq!(failed_ids, 2, "the unknown identifier's failure too, for no one");
        for e in &all {
            for secret in ["1980", "1983", "02/02", "Wrong-Password", "tiramisu", "424242"] {
                assert!(!e.detail.contains(secret) && !e.actor.contains(secret), "{secret} in {e:?}");
            }
        }

        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_sesame"))
                .args(args)
                .current_dir(dir.path())
                .env("DATABASE_URL", &t.url)
                .env("RUST_LOG", "warn")
                .output()
                .expect("run sesame");
            assert_eq!(out.status.code(), Some(0), "{args:?}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let shown = run(&["account", "show", "elodie.leboeuf"]);
        let failures = shown.split("failed attempts").nth(1).unwrap_or_else(|| panic!("{shown}"));
        for expected in
            ["identification_failed", "answer_wrong", "sign_in_failed", "127.0.0.1", "step=recovery:question"]
        {
            assert!(failures.contains(expected), "{expected}: {shown}");
        }
        let audit = run(&["audit"]);
        for kind in ["identification_failed", "answer_wrong", "sign_in_failed"] {
            assert!(audit.contains(kind), "{kind}: {audit}");
        }
    }

    /// Rows of the session table.
    async fn session_rows(t: &TestStore) -> i64 {
        common::sql_count(t, "SELECT COUNT(*) FROM tower_sessions").await
    }

    async fn visitors_are_shown_every_form_without_a_session_row(t: TestStore) {
        let app = app(&t).await;
        let pages = [
            "/",
            "/login",
            "/activate",
            "/activate/identify?method=staff_number",
            "/recover",
            "/recover?method=ine",
            "/help",
            "/rules",
        ];
        let c = app.new_client();
        for _ in 0..5 {
            for page in pages {
                assert_eq!(get(&app.new_client(), &app, page).await.0, StatusCode::OK, "{page}");
                assert_eq!(get(&c, &app, page).await.0, StatusCode::OK, "{page}");
            }
        }
        assert_eq!(session_rows(&t).await, 0, "nothing stored for visitors");

        let (_, form) = get(&c, &app, "/login").await;
        let token = csrf(&form);
        let login = [("login", "elodie.leboeuf"), ("password", "Wrong-Password-1")];
        let with = |token: &str| {
            let mut fields = vec![("csrf_token", token.to_string())];
            fields.extend(login.iter().map(|(k, v)| (*k, v.to_string())));
            fields
        };
        let status = |res: reqwest::Response| res.status();
        let posted = |c: &Client, fields: Vec<(&'static str, String)>| c.post(app.url("/login")).form(&fields).send();
        let missing = login.iter().map(|(k, v)| (*k, v.to_string())).collect();
        assert_eq!(status(posted(&c, missing).await.unwrap()), StatusCode::FORBIDDEN, "no token");
        assert_eq!(status(posted(&c, with(&"x".repeat(43))).await.unwrap()), StatusCode::FORBIDDEN, "a wrong token");
        let other = app.new_client();
        assert_eq!(status(posted(&other, with(&token)).await.unwrap()), StatusCode::FORBIDDEN, "another browser's");
        assert_eq!(status(posted(&c, with(&token)).await.unwrap()), StatusCode::UNPROCESSABLE_ENTITY, "its own");
        assert_eq!(session_rows(&t).await, 0, "a failed sign-in keeps nothing either");
    }

    /// The statements on people, accounts, throttle and audit (identification's among them) that
    /// `sesame serve` logged (`log`) since `from` bytes, the clean-up of stale counters aside;
    /// and the log's length.
    fn sign_in_statements(log: &std::path::Path, from: usize) -> (usize, usize) {
        let text = std::fs::read_to_string(log).unwrap();
        let tables = ["people", "accounts", "throttle", "audit_events"];
        let statements = text[from..]
            .lines()
            .filter(|l| l.contains("sqlx::query") && tables.iter().any(|t| l.contains(t)))
            .filter(|l| !l.contains("DELETE FROM throttle WHERE window_start"))
            .count();
        (statements, text.len())
    }

    async fn known_and_unknown_names_cost_the_same_queries(t: TestStore) {
        let today = time::OffsetDateTime::now_utc().date();
        let (lines, _) = parse_csv(PEOPLE.as_bytes(), today).unwrap();
        import_lines(t.store.as_ref(), lines, "example.edu", Options::default()).await.unwrap();
        let elodie = t.store.find_by_login("elodie.leboeuf").await.unwrap().unwrap();
        common::activate_in_store(t.store.as_ref(), &elodie, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").await;
        let dir = tempfile::tempdir().unwrap();
        let vars = [("DATABASE_URL", t.url.as_str()), ("RUST_LOG", "warn,sqlx::query=debug")];
        let (mut child, addr) = common::serve_binary(dir.path(), &vars);
        let app = TestApp { addr, client: common::browser(), store: t.store.clone() };
        let log = dir.path().join("stderr.log");
        // The statements of one failed post of `fields` to `path`, its form at `path` too.
        let cost = |path: &'static str, fields: Vec<(&'static str, String)>| {
            let (app, log) = (&app, &log);
            async move {
                let c = app.new_client();
                let (_, form) = get(&c, app, path).await;
                let (_, before) = sign_in_statements(log, 0);
                let mut all = vec![("csrf_token", csrf(&form))];
                all.extend(fields);
                let res = c.post(app.url(path)).form(&all).send().await.unwrap();
                assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{all:?}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                sign_in_statements(log, before).0
            }
        };
        let mut sign_ins = Vec::new();
        for login in ["elodie.leboeuf", "nobody.there", "elodie.leboeuf@example.edu", "nobody@example.edu"] {
            sign_ins.push(cost("/login", vec![("login", login.into()), ("password", "Wrong-Password-1".into())]).await);
        }
        let mut identifications = Vec::new();
        for staff_number in ["12345", "424242"] {
            let fields = [("method", "staff_number"), ("identifier", staff_number), ("birth_date", "01/02/1980")];
            let fields = fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
            identifications.push(cost("/recover?method=staff_number", fields).await);
        }
        common::terminate(&mut child);
        assert!(sign_ins[0] > 0 && identifications[0] > 0, "statements are logged");
        assert!(sign_ins.iter().all(|c| *c == sign_ins[0]), "known and unknown names: {sign_ins:?}");
        assert_eq!(identifications[0], identifications[1], "known and unknown identifiers");
    }

    on_both_stores!(
        known_and_unknown_names_cost_the_same_queries,
        visitors_are_shown_every_form_without_a_session_row,
        a_wrong_current_password_is_a_failed_sign_in_under_its_lock,
        a_password_change_ends_the_other_sessions_and_a_recovery_ends_all,
        a_new_password_ends_the_recoveries_under_way,
        a_preference_change_sends_a_notice,
        the_csrf_token_changes_at_sign_in_and_identification,
        clients_behind_an_ipv4_proxy_keep_their_own_counters_on_a_dual_stack_bind,
        birth_date_guesses_add_up_over_every_identifier_of_a_person,
        the_login_and_the_address_of_one_account_share_one_lock,
        failed_attempts_leave_a_trail_the_help_desk_reads,
    );
}
