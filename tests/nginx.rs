//! Production shape: real nginx in front of two `sesame serve` processes sharing one
//! PostgreSQL database, under the /sesame prefix. A whole activation alternates between the
//! instances; the session, the throttling lock and the wizard survive every switch, and the
//! confirmation mail leaves exactly once.

mod common;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use sesame::cli::import::{Options, import_lines, parse_csv};

struct Killed(Vec<Child>);

impl Drop for Killed {
    /// SIGTERM, not SIGKILL: nginx's master then stops its workers instead of orphaning them.
    fn drop(&mut self) {
        for child in &mut self.0 {
            common::terminate(child);
        }
    }
}

/// A form page (below /sesame), its fields, and where its POST must lead.
type Step<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

fn instance(dir: &std::path::Path, url: &str, public: &str, mail: &std::path::Path) -> (Child, String) {
    std::fs::create_dir_all(dir).unwrap();
    let mail = mail.display().to_string();
    let vars = [
        ("DATABASE_URL", url),
        ("SESAME_PUBLIC_URL", public),
        ("SESAME_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("SESAME_MAIL_DIR", mail.as_str()),
    ];
    let (child, addr) = common::serve_binary(dir, &vars);
    (child, addr.to_string())
}

fn nginx(dir: &std::path::Path, port: u16, upstreams: &[String]) -> Child {
    let servers: String = upstreams.iter().map(|a| format!("server {a};\n")).collect();
    let d = dir.display();
    // The deployment's own locations file, as admins install it.
    let locations = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx/sesame-locations.conf");
    let conf = format!(
        "user root;\nworker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{}}\nhttp {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
         upstream sesame {{\n{servers} keepalive 8;\n}}\n server {{\n  listen 127.0.0.1:{port};\n\
         add_header X-Upstream $upstream_addr always;\n  include {locations};\n }}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    Command::new("nginx")
        .args(["-c", &dir.join("nginx.conf").display().to_string(), "-p", &d.to_string()])
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx must be installed (apt-get install nginx-light); .ci/run installs it")
}

/// Posts a form through nginx and notes which instance answered each request.
async fn post(
    client: &Client,
    base: &str,
    path: &str,
    fields: &[(&str, &str)],
    seen: &mut Vec<String>,
) -> (StatusCode, String) {
    let page = client.get(format!("{base}{path}")).send().await.unwrap();
    seen.push(page.headers()["x-upstream"].to_str().unwrap().to_string());
    let body = page.text().await.unwrap();
    let token = common::journey::csrf(&body);
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    let res = client.post(format!("{base}{path}")).form(&all).send().await.unwrap();
    seen.push(res.headers()["x-upstream"].to_str().unwrap().to_string());
    let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status(), location)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_alternating_between_two_instances_behind_nginx() {
    let t = common::postgres().await;
    let today = time::OffsetDateTime::now_utc().date();
    let people =
        "uid,category,given_name,family_name,birth_date,staff_number\n100001,staff,Élodie,Le Bœuf,14/07/1985,12345\n";
    let (lines, _) = parse_csv(people.as_bytes(), today).unwrap();
    import_lines(t.store.as_ref(), lines, "example.edu", Options::default()).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    let port = common::free_port();
    let public = format!("http://127.0.0.1:{port}/sesame");
    let (a, addr_a) = instance(&dir.path().join("a"), &t.url, &public, &mail);
    let (b, addr_b) = instance(&dir.path().join("b"), &t.url, &public, &mail);
    let proxy = nginx(dir.path(), port, &[addr_a.clone(), addr_b.clone()]);
    let _guard = Killed(vec![a, b, proxy]);
    let base = format!("http://127.0.0.1:{port}/sesame");
    for _ in 0..50 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let client = common::browser();
    let mut seen = Vec::new();
    let identify = "/activate/identify?method=staff_number";
    let steps: [Step<'_>; 5] = [
        (
            identify,
            vec![("method", "staff_number"), ("identifier", "12345"), ("birth_date", "14/07/1985")],
            "/sesame/activate/question",
        ),
        ("/activate/question", vec![("question", "first_pet"), ("answer", "Médor")], "/sesame/activate/sms"),
        ("/activate/sms", vec![("sms_consent", "yes"), ("phone", "06 12 34 56 78")], "/sesame/activate/photo"),
        ("/activate/photo", vec![("photo_consent", "no")], "/sesame/activate/password"),
        (
            "/activate/password",
            vec![
                ("password", "Vélo-Rouge-Lune-42"),
                ("password_confirm", "Vélo-Rouge-Lune-42"),
                ("accept_rules", "on"),
            ],
            "/sesame/activate/done",
        ),
    ];
    for (path, fields, next) in steps {
        let (status, location) = post(&client, &base, path, &fields, &mut seen).await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, next), "{path}");
    }
    let done = client.get(format!("{base}/activate/done")).send().await.unwrap().text().await.unwrap();
    assert!(done.contains("elodie.leboeuf"));
    let instances: HashSet<&String> = seen.iter().collect();
    assert_eq!(instances.len(), 2, "both instances served the journey: {seen:?}");
    let switches = seen.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(switches >= 5, "the requests alternated: {seen:?}");

    // The throttling lock holds whichever instance answers.
    let other = common::browser();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let fields = [("method", "staff_number"), ("identifier", "99999"), ("birth_date", "01/01/2000")];
        statuses.push(post(&other, &base, identify, &fields, &mut seen).await.0);
    }
    assert_eq!(&statuses[..5], &[StatusCode::UNPROCESSABLE_ENTITY; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);

    // Both instances run an outbox worker on the same outbox: the mail leaves once.
    let mut files = 0;
    for _ in 0..50 {
        files = std::fs::read_dir(&mail).map(|d| d.count()).unwrap_or(0);
        if files > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(std::fs::read_dir(&mail).map(|d| d.count()).unwrap_or(0), 1, "exactly one mail (first seen: {files})");
}
