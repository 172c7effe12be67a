//! The institution's directory, for real: each test starts its own slapd (Debian's, with its
//! argon2 module) on a free loopback port, and checks what people can bind with afterwards.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::journey::{GOOD_PASSWORD, post, up_to_password};
use common::{TestApp, TestStore, spawn_app, test_config};
use ldap3::{LdapConnAsync, Scope, SearchEntry};
use reqwest::StatusCode;
use secrecy::SecretString;
use sesame::cli::import::{Options, import_lines, parse_csv};
use sesame::config::Config;
use sesame::directory::worker::Worker;
use sesame::directory::{RawSettings, Settings};
use sesame::domain::directory::nt_hash;
use sesame::outbox::Pace;
use sesame::sealing::SealingKey;
use sesame::store::{self, Store};

const SUFFIX: &str = "dc=example,dc=edu";
const ROOT_DN: &str = "cn=admin,dc=example,dc=edu";
const ROOT_PW: &str = "admin-secret";
const SERVICE_DN: &str = "cn=sesame,ou=services,dc=example,dc=edu";
const SERVICE_PW: &str = "service-secret";
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const ELODIE: &str = "uid=100001,ou=people,dc=example,dc=edu";

const PEOPLE: &str = "uid,category,given_name,family_name,birth_date,staff_number
100001,staff,Élodie,Le Bœuf,14/07/1985,12345
100003,staff,Ana,Lima,01/01/1990,777
";

/// A slapd of the test's own: back_mdb, the argon2 module, the schemas SUPANN and Samba need,
/// and an ACL that lets the service account write the password attributes and nothing else.
struct Slapd {
    dir: tempfile::TempDir,
    port: u16,
    /// With TLS: the ldaps:// port (StartTLS goes through `port`).
    tls_port: Option<u16>,
    child: Option<Child>,
}

/// A CA of the test's own and a certificate for 127.0.0.1 it signed, as PEM files in `dir`.
fn make_certificates(dir: &Path) {
    let openssl = |args: &str| {
        let out = Command::new("openssl").args(args.split_whitespace()).current_dir(dir).output().expect("openssl");
        assert!(out.status.success(), "openssl {args}: {}", String::from_utf8_lossy(&out.stderr));
    };
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let new_key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    openssl(&format!(
        "req -x509 {new_key} -keyout ca.key -out ca.pem -days 2 -subj /CN=Sesame-test-CA \
         -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
    ));
    openssl(&format!("req {new_key} -keyout server.key -out server.csr -subj /CN=127.0.0.1"));
    openssl(
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext",
    );
}

impl Slapd {
    async fn start() -> Self {
        Self::start_with(false).await
    }

    async fn start_with(tls: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("db")).expect("db dir");
        let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ldap/test.schema");
        let tls_conf = if tls {
            make_certificates(dir.path());
            let d = dir.path().display();
            format!(
                "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n"
            )
        } else {
            String::new()
        };
        let conf = format!(
            "{tls_conf}include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/nis.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include {schema}\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             moduleload argon2\n\
             pidfile {dir}/slapd.pid\n\
             database mdb\n\
             suffix \"{SUFFIX}\"\n\
             rootdn \"{ROOT_DN}\"\n\
             rootpw {ROOT_PW}\n\
             directory {dir}/db\n\
             maxsize 16777216\n\
             access to attrs=userPassword,sambaNTPassword\n  by dn.exact=\"{SERVICE_DN}\" write\n  by anonymous auth\n  by * none\n\
             access to attrs=shadowLastChange,sambaPwdLastSet,supannListeRouge\n  by dn.exact=\"{SERVICE_DN}\" write\n  by * read\n\
             access to * by * read\n",
            schema = schema.display(),
            dir = dir.path().display(),
        );
        std::fs::write(dir.path().join("slapd.conf"), conf).expect("slapd.conf");
        let tls_port = tls.then(common::free_port);
        let mut slapd = Self { dir, port: common::free_port(), tls_port, child: None };
        slapd.run().await;
        slapd
            .root_add(&[
                (
                    SUFFIX,
                    &[
                        ("objectClass", "dcObject"),
                        ("objectClass", "organization"),
                        ("dc", "example"),
                        ("o", "Example"),
                    ],
                ),
                ("ou=people,dc=example,dc=edu", &[("objectClass", "organizationalUnit"), ("ou", "people")]),
                ("ou=services,dc=example,dc=edu", &[("objectClass", "organizationalUnit"), ("ou", "services")]),
                (
                    SERVICE_DN,
                    &[
                        ("objectClass", "organizationalRole"),
                        ("objectClass", "simpleSecurityObject"),
                        ("cn", "sesame"),
                        ("userPassword", SERVICE_PW),
                    ],
                ),
            ])
            .await;
        slapd
    }

    /// Starts slapd on the port, logging every operation (`-d 256`) to slapd.log.
    async fn run(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("log");
        let mut urls = format!("ldap://127.0.0.1:{}/", self.port);
        if let Some(tls_port) = self.tls_port {
            urls += &format!(" ldaps://127.0.0.1:{tls_port}/");
        }
        let child = Command::new("/usr/sbin/slapd")
            .args(["-f", &self.dir.path().join("slapd.conf").display().to_string()])
            .args(["-h", &urls, "-d", "256"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("slapd (Debian's slapd package; .ci/run installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "slapd did not start: {}",
                std::fs::read_to_string(self.log_path()).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("slapd.log")
    }

    fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// How many modify operations reached this entry.
    fn modifies(&self, dn: &str) -> usize {
        std::fs::read_to_string(self.log_path()).unwrap_or_default().matches(&format!("MOD dn=\"{dn}\"")).count()
    }

    async fn root(&self) -> ldap3::Ldap {
        let (conn, mut ldap) = LdapConnAsync::new(&self.url()).await.expect("connect");
        ldap3::drive!(conn);
        ldap.simple_bind(ROOT_DN, ROOT_PW).await.unwrap().success().expect("root bind");
        ldap
    }

    async fn root_add(&self, entries: &[(&str, &[(&str, &str)])]) {
        let mut ldap = self.root().await;
        for (dn, attrs) in entries {
            let mut grouped: HashMap<&str, std::collections::HashSet<&str>> = HashMap::new();
            for (k, v) in attrs.iter() {
                grouped.entry(k).or_default().insert(v);
            }
            ldap.add(dn, grouped.into_iter().collect())
                .await
                .unwrap()
                .success()
                .unwrap_or_else(|e| panic!("add {dn}: {e}"));
        }
    }

    /// A person's entry: every class Sésame may write to, or only inetOrgPerson.
    async fn add_person(&self, dn: &str, uid: &str, all_classes: bool) {
        let mut attrs = vec![("objectClass", "inetOrgPerson"), ("uid", uid), ("cn", uid), ("sn", uid)];
        if all_classes {
            attrs.extend([
                ("objectClass", "shadowAccount"),
                ("objectClass", "supannPerson"),
                ("objectClass", "sambaSamAccount"),
                ("sambaSID", "S-1-5-21-1-2-3-1000"),
            ]);
        }
        self.root_add(&[(dn, &attrs)]).await;
    }

    async fn delete(&self, dn: &str) {
        self.root().await.delete(dn).await.unwrap().success().expect("delete");
    }

    /// The entry's attributes as the root DN reads them (every value, passwords included).
    async fn read(&self, dn: &str) -> HashMap<String, Vec<String>> {
        let mut ldap = self.root().await;
        let (entries, _) = ldap.search(dn, Scope::Base, "(objectClass=*)", vec!["*"]).await.unwrap().success().unwrap();
        SearchEntry::construct(entries.into_iter().next().expect("the entry")).attrs
    }

    async fn binds(&self, dn: &str, password: &str) -> bool {
        let (conn, mut ldap) = LdapConnAsync::new(&self.url()).await.expect("connect");
        ldap3::drive!(conn);
        let ok = ldap.simple_bind(dn, password).await.map(|r| r.rc == 0).unwrap_or(false);
        let _ = ldap.unbind().await;
        ok
    }

    /// Waits up to `limit` for `dn` to bind (or not) with `password`.
    async fn eventually_binds(&self, dn: &str, password: &str, expected: bool, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.binds(dn, password).await == expected {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn settings(slapd: &Slapd, nt_hash: bool) -> Settings {
    Settings::check(RawSettings {
        url: &slapd.url(),
        base_dn: SUFFIX,
        filter: "(uid={uid})",
        bind_dn: SERVICE_DN,
        bind_password: Some(SecretString::from(SERVICE_PW)),
        nt_hash,
        ..Default::default()
    })
    .unwrap()
    .unwrap()
}

fn quick_pace() -> Pace {
    Pace { poll: Duration::from_millis(100), first_backoff_secs: 1, max_backoff_secs: 2, lease_secs: 30 }
}

fn config(t: &TestStore, slapd: &Slapd, nt_hash: bool) -> Config {
    let mut config = test_config(&t.url);
    config.directory = Some(settings(slapd, nt_hash));
    config.sealing_key = Some(SealingKey::from_base64(KEY).unwrap());
    config.directory_pace = quick_pace();
    config
}

/// The same database as `t`, opened as `sesame serve` opens it with a directory configured.
async fn directory_store(t: &TestStore) -> Arc<dyn Store> {
    store::connect_with(&t.url, true).await.expect("open with a directory")
}

/// Élodie and Ana, as the HR export gives them.
async fn import_people(t: &TestStore) {
    let today = time::OffsetDateTime::now_utc().date();
    let (lines, _) = parse_csv(PEOPLE.as_bytes(), today).unwrap();
    import_lines(t.store.as_ref(), lines, "example.edu", Options::default()).await.unwrap();
}

async fn app(t: &TestStore, config: Config) -> TestApp {
    import_people(t).await;
    spawn_app(config, directory_store(t).await).await
}

/// Élodie activates with GOOD_PASSWORD over HTTP.
async fn activate(app: &TestApp) {
    activate_with(app, GOOD_PASSWORD).await;
}

async fn activate_with(app: &TestApp, password: &str) {
    let c = app.new_client();
    up_to_password(&c, app).await;
    let fields = [("password", password), ("password_confirm", password), ("accept_rules", "on")];
    let (s, l, _) = post(&c, app, "/activate/password", "/activate/password", &fields).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/activate/done"));
}

/// A slapd with Élodie's entry (every class, or inetOrgPerson only), and Élodie activated
/// through the application, her password already in the directory.
async fn activated(t: &TestStore, all_classes: bool, nt_hash: bool) -> (Slapd, TestApp) {
    let slapd = Slapd::start().await;
    slapd.add_person(ELODIE, "100001", all_classes).await;
    let app = app(t, config(t, &slapd, nt_hash)).await;
    activate(&app).await;
    assert!(slapd.eventually_binds(ELODIE, GOOD_PASSWORD, true, SOON).await, "the new password binds");
    (slapd, app)
}

async fn signed_in(app: &TestApp, password: &str) -> reqwest::Client {
    let c = app.new_client();
    let (s, l, _) = post(&c, app, "/login", "/login", &[("login", "elodie.leboeuf"), ("password", password)]).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/account"));
    c
}

const SOON: Duration = Duration::from_secs(10);

async fn activation_password_binds_as_argon2(t: TestStore) {
    let (slapd, app) = activated(&t, true, false).await;
    assert!(!slapd.binds(ELODIE, "Vélo-Rouge-Lune-43").await, "a wrong one does not");
    let entry = slapd.read(ELODIE).await;
    let stored = &entry["userPassword"][0];
    assert!(stored.starts_with("{ARGON2}$argon2id$"), "{stored}");
    let person = app.store.find_by_login("elodie.leboeuf").await.unwrap().unwrap();
    let hash = app.store.account(person.id).await.unwrap().unwrap().password_hash;
    assert_eq!(stored, &format!("{{ARGON2}}{hash}"), "the very hash Sésame holds, nothing else");
    let days = time::OffsetDateTime::now_utc().unix_timestamp() / 86_400;
    assert_eq!(entry["shadowLastChange"], vec![days.to_string()]);
    assert!(!entry.contains_key("sambaNTPassword"), "no NT hash unless asked for");
    assert_eq!(slapd.modifies(ELODIE), 1);
    assert_eq!(app.store.directory_queue(None).await.unwrap().len(), 0, "nothing left waiting");
}

async fn account_change_and_recovery_replace_the_directory_password(t: TestStore) {
    let (slapd, app) = activated(&t, false, false).await;

    let c = signed_in(&app, GOOD_PASSWORD).await;
    let second = "Deuxieme-Piste-Verte-2";
    let fields = [("current_password", GOOD_PASSWORD), ("password", second), ("password_confirm", second)];
    let (s, _, _) = post(&c, &app, "/account/password", "/account/password", &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(slapd.eventually_binds(ELODIE, second, true, SOON).await, "the account area's password binds");
    assert!(!slapd.binds(ELODIE, GOOD_PASSWORD).await, "the old one no longer does");

    let r = app.new_client();
    common::journey::identify_at(&r, &app, "/recover", "staff_number", "12345", "14/07/1985").await;
    let (s, _, _) = post(&r, &app, "/recover/question", "/recover/question", &[("answer", "creme brulee")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let third = "Troisieme-Piste-Rouge-3";
    let (s, l, _) =
        post(&r, &app, "/recover/password", "/recover/password", &[("password", third), ("password_confirm", third)])
            .await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/done"));
    assert!(slapd.eventually_binds(ELODIE, third, true, SOON).await, "the recovered password binds");
    assert!(!slapd.binds(ELODIE, second).await, "the forgotten one no longer does");
    let entry = slapd.read(ELODIE).await;
    assert!(!entry.contains_key("shadowLastChange"), "not a shadowAccount: nothing but the password");
}

async fn visibility_follows_the_preferences(t: TestStore) {
    let (slapd, app) = activated(&t, true, false).await;
    assert!(!slapd.read(ELODIE).await.contains_key("supannListeRouge"), "activation leaves what HR set");
    let c = signed_in(&app, GOOD_PASSWORD).await;
    for (visible, expected) in [("no", "TRUE"), ("yes", "FALSE")] {
        let fields = [("sms_consent", "no"), ("phone", ""), ("photo_consent", "no"), ("directory_visible", visible)];
        let (s, _, _) = post(&c, &app, "/account/preferences", "/account/preferences", &fields).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let deadline = Instant::now() + SOON;
        while slapd.read(ELODIE).await.get("supannListeRouge").map(|v| v[0].as_str()) != Some(expected) {
            assert!(Instant::now() < deadline, "supannListeRouge never became {expected}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let before = slapd.modifies(ELODIE);
    let same = [("sms_consent", "no"), ("phone", ""), ("photo_consent", "yes"), ("directory_visible", "yes")];
    post(&c, &app, "/account/preferences", "/account/preferences", &same).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(slapd.modifies(ELODIE), before, "no directory change when visibility stays");
}

async fn nt_hashes_go_to_samba_entries_only_and_never_wait_in_clear(t: TestStore) {
    let mut slapd = Slapd::start().await;
    slapd.add_person(ELODIE, "100001", true).await;
    let ana = "uid=100003,ou=people,dc=example,dc=edu";
    slapd.add_person(ana, "100003", false).await;
    let app = app(&t, config(&t, &slapd, true)).await;
    // The directory is down, so the change waits: look at what waits in the database.
    slapd.stop();
    activate(&app).await;
    let nt = nt_hash(GOOD_PASSWORD);
    let raw = dump_directory_outbox(&t).await;
    assert!(!raw.is_empty(), "the change waits");
    assert!(!raw.contains(&nt) && !raw.contains(&nt.to_lowercase()), "the NT hash is sealed at rest");
    slapd.run().await;
    assert!(slapd.eventually_binds(ELODIE, GOOD_PASSWORD, true, SOON).await);
    let deadline = Instant::now() + SOON;
    while !slapd.read(ELODIE).await.contains_key("sambaNTPassword") {
        assert!(Instant::now() < deadline, "no NT hash written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let entry = slapd.read(ELODIE).await;
    assert_eq!(entry["sambaNTPassword"], vec![nt.clone()], "MD4 of the UTF-16LE password");
    let last_set: i64 = entry["sambaPwdLastSet"][0].parse().unwrap();
    assert!((time::OffsetDateTime::now_utc().unix_timestamp() - last_set).abs() < 60);
    assert!(dump_directory_outbox(&t).await.is_empty(), "wiped once delivered");
    // Ana's entry is not a Samba account: her modify would be refused if it held an NT hash.
    let ana_c = app.new_client();
    common::journey::identify(&ana_c, &app, "staff_number", "777", "01/01/1990").await;
    for (page, fields) in [
        ("/activate/question", vec![("question", "first_pet"), ("custom_question", ""), ("answer", "Minou")]),
        ("/activate/sms", vec![("sms_consent", "no"), ("phone", "")]),
        ("/activate/photo", vec![("photo_consent", "no")]),
        (
            "/activate/password",
            vec![("password", GOOD_PASSWORD), ("password_confirm", GOOD_PASSWORD), ("accept_rules", "on")],
        ),
    ] {
        let (s, _, _) = post(&ana_c, &app, page, page, &fields).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    }
    assert!(slapd.eventually_binds(ana, GOOD_PASSWORD, true, SOON).await);
    assert!(!slapd.read(ana).await.contains_key("sambaNTPassword"));
    assert!(app.store.directory_queue(None).await.unwrap().is_empty(), "nothing refused");
}

/// Every column of the directory outbox as text, to look for what must not be there.
async fn dump_directory_outbox(t: &TestStore) -> String {
    let sql = "SELECT * FROM directory_outbox";
    if t.url.starts_with("sqlite:") {
        use sqlx::Row;
        let pool = sqlx::SqlitePool::connect(&t.url).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
        rows.iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        r.try_get::<Vec<u8>, _>(i)
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .or_else(|_| r.try_get::<String, _>(i))
                            .or_else(|_| r.try_get::<i64, _>(i).map(|n| n.to_string()))
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        let pool = sqlx::PgPool::connect(&t.url).await.unwrap();
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT (d.*)::text || encode(COALESCE(d.nt_sealed, ''), 'escape') FROM directory_outbox d")
                .fetch_all(&pool)
                .await
                .unwrap();
        rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
    }
}

async fn reset_and_disable_remove_the_password(t: TestStore) {
    let (slapd, app) = activated(&t, true, true).await;
    let deadline = Instant::now() + SOON;
    while !slapd.read(ELODIE).await.contains_key("sambaNTPassword") {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let env = cli_env(&t, &slapd);
    let (code, out) = sesame(&env, &["account", "reset", "elodie.leboeuf"]);
    assert_eq!(code, 0, "{out}");
    assert!(slapd.eventually_binds(ELODIE, GOOD_PASSWORD, false, SOON).await, "reset: the password no longer binds");
    let entry = slapd.read(ELODIE).await;
    assert!(!entry.contains_key("userPassword") && !entry.contains_key("sambaNTPassword"), "{entry:?}");

    // Activated again (the history refuses the old password), then disabled.
    let again = "Deuxieme-Piste-Verte-2";
    activate_with(&app, again).await;
    assert!(slapd.eventually_binds(ELODIE, again, true, SOON).await, "activated again");
    let (code, out) = sesame(&env, &["account", "disable", "100001"]);
    assert_eq!(code, 0, "{out}");
    assert!(slapd.eventually_binds(ELODIE, again, false, SOON).await, "disable: no bind anywhere");
    let entry = slapd.read(ELODIE).await;
    assert!(!entry.contains_key("userPassword") && !entry.contains_key("sambaNTPassword"), "{entry:?}");
}

async fn an_unreachable_directory_never_stops_an_activation(t: TestStore) {
    let mut slapd = Slapd::start().await;
    slapd.add_person(ELODIE, "100001", true).await;
    let mut config = config(&t, &slapd, false);
    config.directory_pace = Pace::DIRECTORY;
    let app = app(&t, config).await;
    slapd.stop();
    let started = Instant::now();
    activate(&app).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the journey never waits for the directory");
    let (_, done) = common::journey::get(&app.new_client(), &app, "/").await;
    assert!(!done.is_empty());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waiting = app.store.directory_queue(None).await.unwrap();
    assert_eq!(waiting.len(), 1, "the change waits");
    assert!(waiting[0].refused_at.is_none() && waiting[0].attempts >= 1, "{waiting:?}");
    slapd.run().await;
    let restarted = Instant::now();
    assert!(
        slapd.eventually_binds(ELODIE, GOOD_PASSWORD, true, Duration::from_secs(90)).await,
        "delivered within a minute and a half of the restart"
    );
    eprintln!("delivered {:.1} s after slapd came back", restarted.elapsed().as_secs_f64());
    assert_eq!(slapd.modifies(ELODIE), 1, "exactly one modify");

    // The worker's connection dies with a restart; the next change opens a new one.
    slapd.stop();
    slapd.run().await;
    let c = signed_in(&app, GOOD_PASSWORD).await;
    let second = "Deuxieme-Piste-Verte-2";
    let fields = [("current_password", GOOD_PASSWORD), ("password", second), ("password_confirm", second)];
    let (s, _, _) = post(&c, &app, "/account/password", "/account/password", &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(slapd.eventually_binds(ELODIE, second, true, Duration::from_secs(90)).await, "reconnected");
    assert_eq!(slapd.modifies(ELODIE), 2);
}

/// The variables `sesame` reads to use the test's database and directory.
fn cli_env(t: &TestStore, slapd: &Slapd) -> Vec<(String, String)> {
    vec![
        ("DATABASE_URL".into(), t.url.clone()),
        ("SESAME_LDAP_URL".into(), slapd.url()),
        ("SESAME_LDAP_BASE_DN".into(), SUFFIX.into()),
        ("SESAME_LDAP_BIND_DN".into(), SERVICE_DN.into()),
        ("SESAME_LDAP_BIND_PASSWORD".into(), SERVICE_PW.into()),
        ("SESAME_LDAP_NT_HASH".into(), "true".into()),
        ("SESAME_SECRET_KEY".into(), KEY.into()),
    ]
}

/// Runs the real binary; returns its exit code and everything it printed.
fn sesame(env: &[(String, String)], args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run sesame");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

async fn refusals_are_reported_and_retried_once_fixed(t: TestStore) {
    let slapd = Slapd::start().await;
    let app = app(&t, config(&t, &slapd, false)).await;
    let env = cli_env(&t, &slapd);
    // No entry for Élodie yet.
    activate(&app).await;
    let deadline = Instant::now() + SOON;
    while app.store.directory_queue(None).await.unwrap().iter().all(|l| l.refused_at.is_none()) {
        assert!(Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (code, out) = sesame(&env, &["directory", "status"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused") && out.contains("uid=100001") && out.contains("login=elodie.leboeuf"), "{out}");
    assert!(out.contains("no entry matches (uid=100001)"), "{out}");
    let (code, shown) = sesame(&env, &["account", "show", "elodie.leboeuf"]);
    assert_eq!(code, 0);
    assert!(shown.contains("directory\n  refused"), "{shown}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.store.directory_queue(None).await.unwrap()[0].attempts, 1, "a refusal is not retried by itself");

    // Doubled: two entries answer the filter.
    let other = "uid=100001,ou=services,dc=example,dc=edu";
    slapd.add_person(ELODIE, "100001", false).await;
    slapd.add_person(other, "100001", false).await;
    let (code, out) = sesame(&env, &["directory", "retry", "elodie.leboeuf"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("2 entries match (uid=100001)"), "{out}");

    slapd.delete(other).await;
    let (code, out) = sesame(&env, &["directory", "retry"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("delivered"), "{out}");
    assert!(slapd.binds(ELODIE, GOOD_PASSWORD).await, "delivered by the retry");
    let (code, out) = sesame(&env, &["directory", "status"]);
    assert_eq!((code, out.trim()), (0, "nothing waits for the directory"));
}

async fn directory_check_says_what_works(t: TestStore) {
    let slapd = Slapd::start().await;
    let env = cli_env(&t, &slapd);
    let (code, out) = sesame(&env, &["directory", "check"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("bound cn=sesame") && out.contains("found the base"), "{out}");
    assert!(!out.contains(SERVICE_PW), "never the password");
    let mut wrong = env.clone();
    wrong.push(("SESAME_LDAP_BIND_PASSWORD".into(), "not-the-password".into()));
    let (code, out) = sesame(&wrong, &["directory", "check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Invalid credentials") || out.contains("invalidCredentials"), "{out}");
    assert!(!out.contains("not-the-password"), "never the password");
    let mut base = env.clone();
    base.push(("SESAME_LDAP_BASE_DN".into(), "ou=nowhere,dc=example,dc=edu".into()));
    assert_eq!(sesame(&base, &["directory", "check"]).0, 1);
    let mut down = env.clone();
    down.push(("SESAME_LDAP_URL".into(), format!("ldap://127.0.0.1:{}", common::free_port())));
    let (code, out) = sesame(&down, &["directory", "check"]);
    assert_eq!(code, 1, "{out}");
    let (code, out) = sesame(&[("DATABASE_URL".into(), t.url.clone())], &["directory", "check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("SESAME_LDAP_URL"), "{out}");
    let mut nt_without_key = env.clone();
    nt_without_key.retain(|(k, _)| k != "SESAME_SECRET_KEY");
    let (code, out) = sesame(&nt_without_key, &["directory", "check"]);
    assert_eq!(code, 2, "start-up refuses NT hashes without a key: {out}");
    assert!(out.contains("SESAME_LDAP_NT_HASH") && out.contains("SESAME_SECRET_KEY"), "{out}");
}

/// ldaps:// and StartTLS, trusting the CA of SESAME_LDAP_CA_FILE and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_starttls_trust_the_configured_ca() {
    let t = common::sqlite().await;
    let slapd = Slapd::start_with(true).await;
    let ca = slapd.dir.path().join("ca.pem").display().to_string();
    let ldaps = format!("ldaps://127.0.0.1:{}", slapd.tls_port.unwrap());
    let with = |vars: &[(&str, &str)]| {
        let mut env = cli_env(&t, &slapd);
        env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        sesame(&env, &["directory", "check"])
    };
    let (code, out) = with(&[("SESAME_LDAP_URL", &ldaps), ("SESAME_LDAP_CA_FILE", &ca)]);
    assert_eq!(code, 0, "ldaps with the CA: {out}");
    let (code, out) = with(&[("SESAME_LDAP_STARTTLS", "true"), ("SESAME_LDAP_CA_FILE", &ca)]);
    assert_eq!(code, 0, "StartTLS with the CA: {out}");
    let (code, out) = with(&[("SESAME_LDAP_URL", &ldaps)]);
    assert_eq!(code, 1, "the system's roots do not know the test CA: {out}");
    let (code, out) = with(&[("SESAME_LDAP_URL", &ldaps), ("SESAME_LDAP_STARTTLS", "true")]);
    assert_eq!(code, 2, "StartTLS goes with ldap:// only: {out}");
    assert!(out.contains("SESAME_LDAP_STARTTLS"), "{out}");
    let (code, out) = with(&[("SESAME_LDAP_CA_FILE", "/nonexistent.pem")]);
    assert_eq!(code, 2, "{out}");
}

/// The real binary, logging at debug level through a whole activation with NT hashes: the
/// password, its hashes and the bind password never reach a log line; /metrics shows the directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_no_directory_secret() {
    let t = common::sqlite().await;
    let slapd = Slapd::start().await;
    slapd.add_person(ELODIE, "100001", true).await;
    import_people(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let env = cli_env(&t, &slapd);
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    vars.push(("RUST_LOG", "debug"));
    let (mut child, addr) = common::serve_binary(dir.path(), &vars);
    let app = TestApp { addr, client: common::browser(), store: t.store.clone() };
    activate(&app).await;
    assert!(slapd.eventually_binds(ELODIE, GOOD_PASSWORD, true, SOON).await);
    let metrics = reqwest::get(format!("http://{addr}/metrics")).await.unwrap().text().await.unwrap();
    for name in ["sesame_directory_backlog 0", "sesame_directory_refused 0", "sesame_directory_delivered_total 1"] {
        assert!(metrics.contains(name), "{name} in {metrics}");
    }
    assert!(metrics.contains("sesame_directory_delivery_seconds"), "{metrics}");
    common::terminate(&mut child);
    let logs = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(logs.contains("directory: change delivered"), "the test reads real logs: {logs}");
    let person = t.store.find_by_login("elodie.leboeuf").await.unwrap().unwrap();
    let hash = t.store.account(person.id).await.unwrap().unwrap().password_hash;
    let salt_and_hash = hash.rsplit('$').take(2).collect::<Vec<_>>();
    for secret in [GOOD_PASSWORD, SERVICE_PW, KEY, &nt_hash(GOOD_PASSWORD), salt_and_hash[0], salt_and_hash[1]] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}

/// A worker that died after its modify and before marking the change (kill -9, a lost
/// database): the change goes again once the claim's lease is over, by replace, so the entry
/// ends the same and nothing is lost.
async fn a_change_modified_but_not_marked_goes_again_harmlessly(t: TestStore) {
    use sesame::directory::Connection;
    use sesame::domain::directory::{Current, modifications};
    let slapd = Slapd::start().await;
    slapd.add_person(ELODIE, "100001", true).await;
    import_people(&t).await;
    let store = directory_store(&t).await;
    let person = store.find_by_login("elodie.leboeuf").await.unwrap().unwrap();
    let hash = sesame::hashing::Hasher::owasp().hash(&SecretString::from(GOOD_PASSWORD)).await.unwrap();
    common::activate_in_store(store.as_ref(), &person, &hash).await;
    // The first worker: claims, modifies, dies.
    let job = store.claim_directory(time::OffsetDateTime::now_utc().unix_timestamp(), 2).await.unwrap().unwrap();
    let mut conn = Connection::open(&settings(&slapd, false)).await.unwrap();
    let entry = conn.find("100001").await.unwrap();
    let current = Current {
        password_hash: job.password_hash.as_deref(),
        nt_hash: None,
        directory_visible: true,
        at: time::OffsetDateTime::now_utc(),
    };
    conn.modify(&entry.dn, &modifications(job.pending(), entry.classes, &current, false)).await.unwrap();
    let before = slapd.read(ELODIE).await;
    // The second: waits out the lease, then sends the same change again.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(Worker::new(store.clone(), settings(&slapd, false), None, quick_pace()).run(stopped));
    let deadline = Instant::now() + SOON;
    while !store.directory_queue(None).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "never sent again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    worker.await.unwrap();
    assert_eq!(slapd.modifies(ELODIE), 2, "sent again after the lease");
    assert_eq!(slapd.read(ELODIE).await["userPassword"], before["userPassword"], "the entry ends the same");
    assert!(slapd.binds(ELODIE, GOOD_PASSWORD).await);
}

on_both_stores!(
    a_change_modified_but_not_marked_goes_again_harmlessly,
    waiting_changes_merge_as_the_domain_says,
    activation_password_binds_as_argon2,
    account_change_and_recovery_replace_the_directory_password,
    visibility_follows_the_preferences,
    nt_hashes_go_to_samba_entries_only_and_never_wait_in_clear,
    reset_and_disable_remove_the_password,
    an_unreachable_directory_never_stops_an_activation,
    refusals_are_reported_and_retried_once_fixed,
    directory_check_says_what_works,
);

/// Two instances on one PostgreSQL: each change reaches the directory once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_deliver_each_change_once() {
    let t = common::postgres().await;
    let slapd = Slapd::start().await;
    const PEOPLE_COUNT: usize = 40;
    let mut csv = String::from("uid,category,given_name,family_name,birth_date\n");
    for i in 0..PEOPLE_COUNT {
        csv += &format!("{},staff,Jean,Martin{i},01/01/1980\n", 200_000 + i);
        slapd.add_person(&format!("uid={},ou=people,{SUFFIX}", 200_000 + i), &(200_000 + i).to_string(), true).await;
    }
    let today = time::OffsetDateTime::now_utc().date();
    import_lines(t.store.as_ref(), parse_csv(csv.as_bytes(), today).unwrap().0, "example.edu", Options::default())
        .await
        .unwrap();
    let store = directory_store(&t).await;
    let hash = sesame::hashing::Hasher::owasp().hash(&SecretString::from(GOOD_PASSWORD)).await.unwrap();
    for i in 0..PEOPLE_COUNT {
        let person = store.find_by_login(&format!("jean.martin{i}")).await.unwrap().unwrap();
        common::activate_in_store(store.as_ref(), &person, &hash).await;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for _ in 0..2 {
        let instance = directory_store(&t).await;
        let worker = Worker::new(instance, settings(&slapd, false), None, quick_pace());
        workers.push(tokio::spawn(worker.run(stopped.clone())));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !store.directory_queue(None).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "not all delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    for w in workers {
        w.await.unwrap();
    }
    let log = std::fs::read_to_string(slapd.log_path()).unwrap();
    assert_eq!(log.matches("MOD dn=\"uid=2").count(), PEOPLE_COUNT, "one modify per change, in all");
    for i in 0..PEOPLE_COUNT {
        assert_eq!(slapd.modifies(&format!("uid={},ou=people,{SUFFIX}", 200_000 + i)), 1, "person {i}");
    }
    let connections: std::collections::HashSet<&str> = log
        .lines()
        .filter(|l| l.contains("MOD dn=\"uid=2"))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("conn=")))
        .collect();
    assert_eq!(connections.len(), 2, "both instances delivered some");
}

/// The database merges waiting changes exactly as `Pending::then` does, and a delivery of an
/// older version leaves a newer change waiting.
async fn waiting_changes_merge_as_the_domain_says(t: TestStore) {
    use sesame::domain::directory::Pending;
    import_people(&t).await;
    let store = directory_store(&t).await;
    let person = store.find_by_login("elodie.leboeuf").await.unwrap().unwrap();
    let claim =
        || async { store.claim_directory(time::OffsetDateTime::now_utc().unix_timestamp(), 0).await.unwrap().unwrap() };
    common::activate_in_store(store.as_ref(), &person, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").await;
    assert_eq!(claim().await.pending(), Pending::PASSWORD);
    let prefs = sesame::store::Preferences {
        phone: None,
        sms_consent_at: time::OffsetDateTime::now_utc(),
        photo_consent: false,
        photo_consent_at: time::OffsetDateTime::now_utc(),
        directory_visible: false,
    };
    let notice = sesame::store::NewMail {
        kind: "preferences_changed",
        recipient: person.email.clone(),
        subject: "s".into(),
        body_text: "b".into(),
    };
    store.update_preferences(person.id, &prefs, &common::event(&person, "preferences_changed"), &notice).await.unwrap();
    let job = claim().await;
    assert_eq!(job.pending(), Pending::PASSWORD.then(Pending::VISIBILITY));
    assert_eq!(job.directory_visible, Some(false));
    store.update_preferences(person.id, &prefs, &common::event(&person, "preferences_changed"), &notice).await.unwrap();
    assert_eq!(claim().await.version, job.version, "the same visibility queues nothing");
    store.reset_account(person.id, &common::event(&person, "helpdesk_reset")).await.unwrap();
    let removed = claim().await;
    assert_eq!(removed.pending(), Pending::PASSWORD.then(Pending::VISIBILITY).then(Pending::REMOVE));
    assert_eq!(removed.password_hash, None, "no account any more");
    assert!(
        !store.directory_delivered(person.id, job.version).await.unwrap(),
        "an older version keeps the newer change"
    );
    assert_eq!(claim().await.version, removed.version);
    common::activate_in_store(store.as_ref(), &person, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").await;
    let again = claim().await;
    assert_eq!(again.pending(), removed.pending().then(Pending::PASSWORD));
    assert!(store.directory_delivered(person.id, again.version).await.unwrap());
    assert!(store.directory_queue(None).await.unwrap().is_empty());
    // Without a directory, nothing is queued.
    t.store.disable_person(person.id, &common::event(&person, "helpdesk_disable")).await.unwrap();
    assert!(store.directory_queue(None).await.unwrap().is_empty());
}
