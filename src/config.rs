//! The one configuration: loaded from defaults, an optional TOML file and the environment, checked once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::password_policy::PasswordPolicy;
use crate::mail::worker::Pace;

/// The keys read from `SESAME_*` variables; other `SESAME_` variables belong to someone else.
const KEYS: [&str; 16] = [
    "bind",
    "public_url",
    "trusted_proxies",
    "smtp_url",
    "mail_dir",
    "mail_from",
    "email_domain",
    "cookie_secure",
    "log_format",
    "institution_name",
    "logo_file",
    "wizard_timeout_minutes",
    "session_idle_minutes",
    "session_max_hours",
    "rules_version",
    "weak_passwords_file",
];

/// Keys as written in the TOML file; each maps to `SESAME_<KEY>` except `database_url`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawConfig {
    database_url: String,
    bind: String,
    public_url: String,
    trusted_proxies: String,
    smtp_url: String,
    mail_dir: String,
    mail_from: String,
    email_domain: String,
    cookie_secure: bool,
    log_format: String,
    institution_name: String,
    logo_file: String,
    wizard_timeout_minutes: u32,
    session_idle_minutes: u32,
    session_max_hours: u32,
    rules_version: String,
    weak_passwords_file: String,
    password_policy: PasswordPolicy,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            database_url: "sqlite://sesame.db".into(),
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            trusted_proxies: String::new(),
            smtp_url: String::new(),
            mail_dir: "./mail".into(),
            mail_from: "Sésame <no-reply@localhost>".into(),
            email_domain: "example.edu".into(),
            cookie_secure: true,
            log_format: "text".into(),
            institution_name: "Université".into(),
            logo_file: String::new(),
            wizard_timeout_minutes: 15,
            session_idle_minutes: 15,
            session_max_hours: 8,
            rules_version: "2026-09".into(),
            weak_passwords_file: String::new(),
            password_policy: PasswordPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Checked configuration. The database URL may hold a password, hence the custom `Debug`.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    pub public_url: Url,
    pub trusted_proxies: Vec<IpNet>,
    pub smtp_url: Option<Url>,
    pub mail_dir: PathBuf,
    pub mail_from: Mailbox,
    pub email_domain: String,
    pub cookie_secure: bool,
    pub log_format: LogFormat,
    /// Shown in the header and given to the strength estimator as a guessable word.
    pub institution_name: String,
    /// The institution's logo, shown in the header beside its name; read once at start-up.
    pub logo: Option<Logo>,
    /// Idle time after which an unfinished activation is forgotten.
    pub wizard_timeout: time::Duration,
    /// A signed-in session ends after this much inactivity…
    pub session_idle: time::Duration,
    /// …and in any case this long after sign-in.
    pub session_max: time::Duration,
    /// The version of the internal rules a person accepts, recorded with their account.
    pub rules_version: String,
    /// In the TOML file only, as a `[password_policy]` table; defaults are the seed's.
    pub password_policy: PasswordPolicy,
    /// Passwords refused on top of the policy; read by `serve`, which fills
    /// `password_policy.weak_list` from it, so that other commands do not pay for it.
    pub weak_passwords_file: Option<PathBuf>,
    /// How the outbox worker paces retries; not configurable, tests shorten it.
    pub mail_pace: Pace,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("public_url", &self.public_url.as_str())
            .field("trusted_proxies", &self.trusted_proxies)
            .field("smtp_url", &self.smtp_url.as_ref().map(|u| redact_url(u.as_str())))
            .field("mail_dir", &self.mail_dir)
            .field("email_domain", &self.email_domain)
            .field("cookie_secure", &self.cookie_secure)
            .field("log_format", &self.log_format)
            .finish_non_exhaustive()
    }
}

/// Largest logo accepted: a header image, not a photograph.
const LOGO_MAX_BYTES: u64 = 512 * 1024;

/// An image file served under `/static/` and shown in every page's header.
#[derive(Clone, PartialEq, Eq)]
pub struct Logo {
    pub bytes: Vec<u8>,
    pub extension: &'static str,
    pub content_type: &'static str,
}

impl Logo {
    fn read(path: &str) -> Result<Self, ConfigError> {
        let path = Path::new(path);
        let kind = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let (extension, content_type) = match kind.as_deref() {
            Some("svg") => ("svg", "image/svg+xml"),
            Some("png") => ("png", "image/png"),
            Some("jpg" | "jpeg") => ("jpg", "image/jpeg"),
            Some("webp") => ("webp", "image/webp"),
            _ => return Err(invalid("logo_file", "must be an .svg, .png, .jpg or .webp file")),
        };
        let unreadable = |e: std::io::Error| invalid("logo_file", format!("cannot read {}: {e}", path.display()));
        if std::fs::metadata(path).map_err(unreadable)?.len() > LOGO_MAX_BYTES {
            return Err(invalid("logo_file", format!("{} is larger than 512 KiB", path.display())));
        }
        Ok(Self { bytes: std::fs::read(path).map_err(unreadable)?, extension, content_type })
    }
}

/// A start-up failure: names the variable and says what is wrong, on one line.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: String,
    pub message: String,
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable: variable_name(key), message: message.into() }
}

fn variable_name(key: &str) -> String {
    if key == "database_url" { "DATABASE_URL".into() } else { format!("SESAME_{}", key.to_uppercase()) }
}

/// What a sub-command changes before the environment and file are read (`demo` turns the
/// `Secure` cookie off by default; the environment can still turn it back on).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub cookie_secure_default: Option<bool>,
    pub database_url_default: Option<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file, overrides, Env::prefixed("SESAME_"), Env::raw().only(&["DATABASE_URL"])))
    }

    fn figment(file: Option<&Path>, overrides: &Overrides, sesame_env: Env, db_env: Env) -> Figment {
        let mut defaults = RawConfig::default();
        if let Some(secure) = overrides.cookie_secure_default {
            defaults.cookie_secure = secure;
        }
        if let Some(url) = &overrides.database_url_default {
            defaults.database_url = url.clone();
        }
        let mut figment = Figment::from(Serialized::defaults(defaults));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment.merge(sesame_env.only(&KEYS)).merge(db_env)
    }

    /// The built-in defaults, without reading the environment (tests and embedding).
    pub fn defaults() -> Self {
        Self::check(RawConfig::default()).expect("the built-in defaults are valid")
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let raw: RawConfig = figment.extract().map_err(|e| {
            let key = e.path.last().cloned().unwrap_or_default();
            let message = e.kind.to_string();
            if key.is_empty() {
                ConfigError { variable: "configuration".into(), message: e.to_string() }
            } else {
                invalid(&key, message)
            }
        })?;
        Self::check(raw)
    }

    fn check(raw: RawConfig) -> Result<Self, ConfigError> {
        let database_url = raw.database_url.trim().to_string();
        if !(database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
            || database_url.starts_with("sqlite:"))
        {
            return Err(invalid("database_url", "must start with postgres:// or sqlite://"));
        }
        let bind =
            raw.bind.trim().parse::<SocketAddr>().map_err(|_| {
                invalid("bind", format!("'{}' is not an address:port such as 127.0.0.1:8080", raw.bind))
            })?;
        let public_url = parse_public_url(&raw.public_url)?;
        let trusted_proxies = parse_proxies(&raw.trusted_proxies)?;
        let smtp_url = match raw.smtp_url.trim() {
            "" => None,
            s => {
                let url = Url::parse(s).map_err(|e| invalid("smtp_url", format!("not a URL ({e})")))?;
                if !matches!(url.scheme(), "smtp" | "smtps") {
                    return Err(invalid("smtp_url", "must start with smtp:// or smtps://"));
                }
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(invalid("smtp_url", "names no host"));
                }
                Some(url)
            }
        };
        if raw.mail_dir.trim().is_empty() {
            return Err(invalid("mail_dir", "must not be empty"));
        }
        let mail_from = raw
            .mail_from
            .parse::<Mailbox>()
            .map_err(|e| invalid("mail_from", format!("'{}' is not a mail address ({e})", raw.mail_from)))?;
        let email_domain = raw.email_domain.trim().to_ascii_lowercase();
        if !is_domain(&email_domain) {
            return Err(invalid("email_domain", format!("'{}' is not a domain name", raw.email_domain)));
        }
        let log_format = match raw.log_format.trim() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(invalid("log_format", format!("'{other}' is neither text nor json"))),
        };
        if raw.institution_name.trim().is_empty() {
            return Err(invalid("institution_name", "must not be empty"));
        }
        let logo = match raw.logo_file.trim() {
            "" => None,
            path => Some(Logo::read(path)?),
        };
        if !(1..=24 * 60).contains(&raw.wizard_timeout_minutes) {
            return Err(invalid("wizard_timeout_minutes", "must be between 1 and 1440"));
        }
        if !(1..=24 * 60).contains(&raw.session_idle_minutes) {
            return Err(invalid("session_idle_minutes", "must be between 1 and 1440"));
        }
        if !(1..=7 * 24).contains(&raw.session_max_hours) {
            return Err(invalid("session_max_hours", "must be between 1 and 168"));
        }
        if raw.rules_version.trim().is_empty() {
            return Err(invalid("rules_version", "must not be empty"));
        }
        let weak_passwords_file = match raw.weak_passwords_file.trim() {
            "" => None,
            path if Path::new(path).is_file() => Some(PathBuf::from(path)),
            path => return Err(invalid("weak_passwords_file", format!("'{path}' is not a readable file"))),
        };
        raw.password_policy
            .validate()
            .map_err(|e| ConfigError { variable: "password_policy".into(), message: e.to_string() })?;
        Ok(Self {
            institution_name: raw.institution_name.trim().to_string(),
            logo,
            wizard_timeout: time::Duration::minutes(raw.wizard_timeout_minutes.into()),
            session_idle: time::Duration::minutes(raw.session_idle_minutes.into()),
            session_max: time::Duration::hours(raw.session_max_hours.into()),
            rules_version: raw.rules_version.trim().to_string(),
            password_policy: raw.password_policy,
            weak_passwords_file,
            mail_pace: Pace::default(),
            database_url,
            bind,
            public_url,
            trusted_proxies,
            smtp_url,
            mail_dir: PathBuf::from(raw.mail_dir.trim()),
            mail_from,
            email_domain,
            cookie_secure: raw.cookie_secure,
            log_format,
        })
    }

    /// The path prefix the application is mounted under, without a trailing slash ("" at the root).
    pub fn base_path(&self) -> &str {
        self.public_url.path().trim_end_matches('/')
    }
}

fn parse_public_url(input: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(input.trim()).map_err(|e| invalid("public_url", format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("public_url", "must start with http:// or https://"));
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("public_url", "must be scheme, host and an optional path, nothing else"));
    }
    Ok(url)
}

fn parse_proxies(input: &str) -> Result<Vec<IpNet>, ConfigError> {
    input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| invalid("trusted_proxies", format!("'{s}' is not a CIDR such as 10.0.0.0/8")))
        })
        .collect()
}

fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Hides the password of a URL so that it can be logged or printed.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `Config::load` with exactly these variables and file, in figment's sandbox.
    fn load(vars: &[(&str, &str)], toml: Option<&str>, overrides: Overrides) -> Result<Config, ConfigError> {
        let mut result = None;
        #[allow(clippy::result_large_err)] // figment's own closure type
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            for (k, v) in vars {
                jail.set_env(k, v);
            }
            let file = toml.map(|text| {
                jail.create_file("sesame.toml", text).expect("write toml");
                Path::new("sesame.toml")
            });
            result = Some(Config::load(file, &overrides));
            Ok(())
        });
        result.expect("jail ran")
    }

    #[test]
    fn defaults_are_the_contracts() {
        let c = load(&[], None, Overrides::default()).unwrap();
        assert_eq!(c.database_url, "sqlite://sesame.db");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url.as_str(), "http://127.0.0.1:8080/");
        assert!(c.trusted_proxies.is_empty());
        assert!(c.smtp_url.is_none());
        assert_eq!(c.mail_dir, PathBuf::from("./mail"));
        assert_eq!(c.mail_from.to_string(), "Sésame <no-reply@localhost>".parse::<Mailbox>().unwrap().to_string());
        assert_eq!(c.email_domain, "example.edu");
        assert!(c.cookie_secure);
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.base_path(), "");
    }

    #[test]
    fn environment_wins_over_the_file() {
        let c = load(
            &[("SESAME_BIND", "0.0.0.0:9000")],
            Some("bind = \"127.0.0.1:7000\"\nemail_domain = \"univ.fr\""),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.bind.to_string(), "0.0.0.0:9000");
        assert_eq!(c.email_domain, "univ.fr");
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases = [
            ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
            ("SESAME_BIND", "nowhere", "SESAME_BIND"),
            ("SESAME_PUBLIC_URL", "ftp://x", "SESAME_PUBLIC_URL"),
            ("SESAME_PUBLIC_URL", "https://x/?a=b", "SESAME_PUBLIC_URL"),
            ("SESAME_TRUSTED_PROXIES", "10.0.0.0/8, bogus", "SESAME_TRUSTED_PROXIES"),
            ("SESAME_SMTP_URL", "http://mail", "SESAME_SMTP_URL"),
            ("SESAME_MAIL_FROM", "not an address", "SESAME_MAIL_FROM"),
            ("SESAME_EMAIL_DOMAIN", "bad domain", "SESAME_EMAIL_DOMAIN"),
            ("SESAME_COOKIE_SECURE", "maybe", "SESAME_COOKIE_SECURE"),
            ("SESAME_LOG_FORMAT", "xml", "SESAME_LOG_FORMAT"),
        ];
        for (var, value, named) in cases {
            let err = load(&[(var, value)], None, Overrides::default())
                .err()
                .unwrap_or_else(|| panic!("{var}={value} accepted"));
            assert_eq!(err.variable, named, "{var}={value}: {err}");
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn the_logo_is_read_once_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("logo.SVG");
        std::fs::write(&svg, "<svg xmlns='http://www.w3.org/2000/svg'/>").unwrap();
        let config = load(&[("SESAME_LOGO_FILE", svg.to_str().unwrap())], None, Overrides::default()).unwrap();
        let logo = config.logo.unwrap();
        assert_eq!((logo.extension, logo.content_type), ("svg", "image/svg+xml"));
        assert!(logo.bytes.starts_with(b"<svg"));

        let gif = dir.path().join("logo.gif");
        std::fs::write(&gif, "GIF89a").unwrap();
        let big = dir.path().join("big.png");
        std::fs::write(&big, vec![0u8; 600 * 1024]).unwrap();
        let missing = dir.path().join("missing.png");
        for (path, says) in [(&gif, ".svg, .png"), (&big, "512 KiB"), (&missing, "cannot read")] {
            let err = load(&[("SESAME_LOGO_FILE", path.to_str().unwrap())], None, Overrides::default()).unwrap_err();
            assert_eq!(err.variable, "SESAME_LOGO_FILE");
            assert!(err.message.contains(says), "{err}");
        }
        assert!(Config::defaults().logo.is_none());
    }

    #[test]
    fn proxies_accept_cidrs_and_bare_addresses() {
        let c = load(&[("SESAME_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1 ::1")], None, Overrides::default()).unwrap();
        assert_eq!(c.trusted_proxies.len(), 3);
        assert!(c.trusted_proxies[1].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
    }

    #[test]
    fn demo_turns_secure_cookies_off_unless_asked() {
        let demo = Overrides { cookie_secure_default: Some(false), ..Default::default() };
        assert!(!load(&[], None, demo.clone()).unwrap().cookie_secure);
        assert!(load(&[("SESAME_COOKIE_SECURE", "true")], None, demo).unwrap().cookie_secure);
    }

    #[test]
    fn base_path_follows_the_public_url() {
        let c = load(&[("SESAME_PUBLIC_URL", "https://ent.example.edu/sesame/")], None, Overrides::default()).unwrap();
        assert_eq!(c.base_path(), "/sesame");
    }

    #[test]
    fn other_sesame_variables_are_not_ours_to_refuse() {
        assert!(load(&[("SESAME_TEST_DATABASE_URL", "x")], None, Overrides::default()).is_ok());
        assert!(Config::defaults().cookie_secure);
    }

    #[test]
    fn a_typo_in_the_file_is_refused() {
        let err = load(&[], Some("bnd = \"x\""), Overrides::default()).expect_err("refused");
        assert!(err.to_string().contains("bnd"), "{err}");
    }

    #[test]
    fn the_password_policy_comes_from_a_file_table_and_is_checked() {
        let c = load(&[], Some("[password_policy]\nmin_length = 8\nhistory_depth = 5"), Overrides::default()).unwrap();
        assert_eq!((c.password_policy.min_length, c.password_policy.history_depth), (8, 5));
        assert_eq!(c.password_policy.max_length, 30, "unset keys keep the seed's values");
        let err = load(&[], Some("[password_policy]\nmin_length = 40"), Overrides::default()).unwrap_err();
        assert_eq!(err.variable, "password_policy");
    }

    #[test]
    fn the_weak_passwords_file_must_exist_and_is_read_by_serve_only() {
        let c = load(&[], None, Overrides::default()).unwrap();
        assert_eq!(c.weak_passwords_file, None);
        let file = tempfile::NamedTempFile::new().unwrap();
        let path = file.path().to_str().unwrap();
        let c = load(&[("SESAME_WEAK_PASSWORDS_FILE", path)], None, Overrides::default()).unwrap();
        assert_eq!(c.weak_passwords_file.as_deref(), Some(file.path()));
        assert!(c.password_policy.weak_list.is_empty(), "loading it is serve's work");
        let err =
            load(&[("SESAME_WEAK_PASSWORDS_FILE", "/nonexistent/weak.txt")], None, Overrides::default()).unwrap_err();
        assert_eq!(err.variable, "SESAME_WEAK_PASSWORDS_FILE");
    }

    #[test]
    fn the_wizard_timeout_is_bounded() {
        let c = load(&[("SESAME_WIZARD_TIMEOUT_MINUTES", "30")], None, Overrides::default()).unwrap();
        assert_eq!(c.wizard_timeout, time::Duration::minutes(30));
        let err = load(&[("SESAME_WIZARD_TIMEOUT_MINUTES", "0")], None, Overrides::default()).unwrap_err();
        assert_eq!(err.variable, "SESAME_WIZARD_TIMEOUT_MINUTES");
    }

    #[test]
    fn passwords_never_show_in_debug() {
        let c = load(&[("DATABASE_URL", "postgres://u:hunter2@db/x")], None, Overrides::default()).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
