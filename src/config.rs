//! The one configuration: loaded from defaults, an optional TOML file and the environment, checked once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};
use url::Url;

use crate::directory;
use crate::domain::password_policy::PasswordPolicy;
use crate::outbox::Pace;
use crate::sealing::SealingKey;

/// The keys read from `SESAME_*` variables; other `SESAME_` variables belong to someone else.
const KEYS: [&str; 41] = [
    "bind",
    "public_url",
    "hsts_max_age_seconds",
    "database_timeout_seconds",
    "hash_wait_seconds",
    "trusted_proxies",
    "smtp_url",
    "smtp_timeout_seconds",
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
    "timezone",
    "ldap_url",
    "ldap_starttls",
    "ldap_ca_file",
    "ldap_bind_dn",
    "ldap_bind_password",
    "ldap_bind_password_file",
    "ldap_base_dn",
    "ldap_filter",
    "ldap_nt_hash",
    "secret_key",
    "secret_key_file",
    "weak_passwords_file",
    "helpdesk_email",
    "helpdesk_phone",
    "helpdesk_hours",
    "helpdesk_url",
    // h22: recovery by a one-time code
    "recovery_code_minutes",
    "sms_url",
    "sms_user",
    "sms_password",
    "sms_dir",
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
    smtp_timeout_seconds: u32,
    hsts_max_age_seconds: u32,
    database_timeout_seconds: u32,
    hash_wait_seconds: u32,
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
    timezone: String,
    weak_passwords_file: String,
    password_policy: PasswordPolicy,
    ldap_url: String,
    ldap_starttls: bool,
    ldap_ca_file: String,
    ldap_bind_dn: String,
    ldap_bind_password: String,
    ldap_bind_password_file: String,
    ldap_base_dn: String,
    ldap_filter: String,
    ldap_nt_hash: bool,
    secret_key: String,
    secret_key_file: String,
    helpdesk_email: String,
    helpdesk_phone: String,
    helpdesk_hours: String,
    helpdesk_url: String,
    // h22: recovery by a one-time code
    recovery_code_minutes: u32,
    sms_url: String,
    sms_user: String,
    sms_password: String,
    sms_dir: String,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            database_url: "sqlite://sesame.db".into(),
            bind: "127.0.0.1:8080".into(),
            // Empty: derived from the bind address.
            public_url: String::new(),
            trusted_proxies: String::new(),
            smtp_url: String::new(),
            smtp_timeout_seconds: 20,
            hsts_max_age_seconds: 31_536_000,
            database_timeout_seconds: 5,
            hash_wait_seconds: 5,
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
            timezone: "Europe/Paris".into(),
            weak_passwords_file: String::new(),
            password_policy: PasswordPolicy::default(),
            ldap_url: String::new(),
            ldap_starttls: false,
            ldap_ca_file: String::new(),
            ldap_bind_dn: String::new(),
            ldap_bind_password: String::new(),
            ldap_bind_password_file: String::new(),
            ldap_base_dn: String::new(),
            ldap_filter: "(uid={uid})".into(),
            ldap_nt_hash: false,
            secret_key: String::new(),
            secret_key_file: String::new(),
            helpdesk_email: String::new(),
            helpdesk_phone: String::new(),
            helpdesk_hours: String::new(),
            helpdesk_url: String::new(),
            // h22: recovery by a one-time code
            recovery_code_minutes: crate::domain::recovery_code::DEFAULT_MINUTES,
            sms_url: String::new(),
            sms_user: String::new(),
            sms_password: String::new(),
            sms_dir: "./sms".into(),
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
    /// Each SMTP exchange gives up after this long, so that a slow relay holds a mail (and a
    /// stopping process) for a bounded time.
    pub smtp_timeout: std::time::Duration,
    /// `Strict-Transport-Security: max-age=` this, on every answer when the public URL is
    /// https; zero sends none.
    pub hsts_max_age_seconds: u32,
    /// Waiting for a database connection, a PostgreSQL statement, and a request's database
    /// work each give up after this long: a hung database gets the 503 quickly.
    pub database_timeout: std::time::Duration,
    /// A password post waits at most this long for a hashing thread; beyond, it is refused at once.
    pub hash_wait: std::time::Duration,
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
    /// Where times are shown to people and to the help desk; they are stored in UTC.
    pub timezone: Timezone,
    /// `public_url` was not configured but derived from `bind`.
    public_url_from_bind: bool,
    /// Passwords refused on top of the policy; read by `serve`, which fills
    /// `password_policy.weak_list` from it, so that other commands do not pay for it.
    pub weak_passwords_file: Option<PathBuf>,
    /// How the outbox worker paces retries; not configurable, tests shorten it.
    pub mail_pace: Pace,
    /// The institution's LDAP directory; `None` without `SESAME_LDAP_URL`.
    pub directory: Option<directory::Settings>,
    /// How the directory worker paces retries; not configurable, tests shorten it.
    pub directory_pace: Pace,
    /// `SESAME_SECRET_KEY`: seals what waits in the database for delivery.
    pub sealing_key: Option<SealingKey>,
    /// The files secrets were read from, for `config check`.
    pub secret_files: SecretFiles,
    // h22: recovery by a one-time code
    /// How long a one-time recovery code is valid; tests shorten it below a minute.
    pub recovery_code_validity: time::Duration,
    /// Where SMS go: the gateway, or files.
    pub sms: crate::sms::Settings,
    /// How the SMS worker paces retries; not configurable, tests shorten it.
    pub sms_pace: Pace,
    /// Whom pages and mails send a person to when they need a human.
    pub helpdesk: Helpdesk,
}

/// The help desk's contact (`SESAME_HELPDESK_*`), each part optional: pages and mails show
/// what is configured and promise nothing more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Helpdesk {
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Free text, shown as written ("Lundi–vendredi, 8 h 30 – 17 h").
    pub hours: Option<String>,
    pub url: Option<Url>,
}

impl Helpdesk {
    fn check(email: &str, phone: &str, hours: &str, url: &str) -> Result<Self, ConfigError> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let email = text(email);
        if let Some(address) = &email
            && address.parse::<lettre::Address>().is_err()
        {
            return Err(invalid("helpdesk_email", format!("'{address}' is not a mail address")));
        }
        let url = match url.trim() {
            "" => None,
            given => {
                let parsed = Url::parse(given).map_err(|e| invalid("helpdesk_url", format!("not a URL ({e})")))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(invalid("helpdesk_url", "must start with http:// or https://"));
                }
                Some(parsed)
            }
        };
        Ok(Self { email, phone: text(phone), hours: text(hours), url })
    }

    /// The phone number as a `tel:` link: its digits and a leading `+`.
    pub fn tel_href(&self) -> String {
        let number = self.phone.as_deref().unwrap_or("");
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        let plus = if number.trim_start().starts_with('+') { "+" } else { "" };
        format!("tel:{plus}{digits}")
    }

    /// Whether there is a way to reach the help desk (hours alone are none).
    pub fn is_reachable(&self) -> bool {
        self.email.is_some() || self.phone.is_some() || self.url.is_some()
    }
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
            .field("timezone", &self.timezone.name)
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

/// One effective setting, as `sesame config check` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub variable: String,
    /// Secrets hidden.
    pub value: String,
    pub source: Source,
}

/// Where an effective setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    Environment,
    CommandLine,
    /// Computed from the setting of this key.
    Derived(&'static str),
}

/// The value of an option given on the command line, told apart from the defaults by its type.
#[derive(Serialize)]
#[serde(transparent)]
struct CommandLine(String);

impl Source {
    fn of(figment: &Figment, key: &str) -> Self {
        // A table (the password policy) comes from wherever any of its keys was set.
        if let Ok(figment::value::Value::Dict(_, dict)) = figment.find_value(key) {
            return dict
                .keys()
                .map(|k| Self::of(figment, &format!("{key}.{k}")))
                .find(|s| *s != Self::Default)
                .unwrap_or(Self::Default);
        }
        match figment.find_metadata(key) {
            Some(m) if m.source.as_ref().and_then(|s| s.file_path()).is_some() => Self::File,
            Some(m) if m.name.contains("environment") => Self::Environment,
            Some(m) if m.name == std::any::type_name::<CommandLine>() => Self::CommandLine,
            _ => Self::Default,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File => f.write_str("file"),
            Self::Environment => f.write_str("environment"),
            Self::CommandLine => f.write_str("command line"),
            Self::Derived(key) => write!(f, "default, from {}", variable_name(key)),
        }
    }
}

/// The institution's time zone, an IANA name: times are stored in UTC and shown in it.
#[derive(Clone)]
pub struct Timezone {
    name: String,
    zone: jiff::tz::TimeZone,
}

impl Timezone {
    pub fn named(name: &str) -> Result<Self, String> {
        let zone = jiff::tz::TimeZone::get(name)
            .map_err(|_| format!("'{name}' is not a time zone of the IANA database, such as Europe/Paris"))?;
        Ok(Self { name: name.to_string(), zone })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same instant, with this zone's offset at that instant.
    pub fn local(&self, at: OffsetDateTime) -> OffsetDateTime {
        let offset = jiff::Timestamp::from_second(at.unix_timestamp())
            .map(|t| self.zone.to_offset(t).seconds())
            .ok()
            .and_then(|seconds| UtcOffset::from_whole_seconds(seconds).ok());
        offset.map_or(at, |o| at.to_offset(o))
    }

    /// The first instant of `day` in this zone (a day starting in a daylight-saving gap starts
    /// when the gap ends).
    pub fn start_of_day(&self, day: Date) -> OffsetDateTime {
        let start = jiff::civil::Date::new(day.year() as i16, u8::from(day.month()) as i8, day.day() as i8)
            .and_then(|d| d.to_zoned(self.zone.clone()))
            .ok()
            .and_then(|z| OffsetDateTime::from_unix_timestamp(z.timestamp().as_second()).ok());
        self.local(start.unwrap_or_else(|| day.midnight().assume_utc()))
    }

    /// A time as the help desk reads it: local, to the second, with its offset.
    pub fn text(&self, at: OffsetDateTime) -> String {
        let format = format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory]:[offset_minute]"
        );
        self.local(at).format(format).unwrap_or_else(|_| at.to_string())
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
    match key {
        "database_url" => "DATABASE_URL".into(),
        // A table of the file, not a variable.
        "password_policy" => "[password_policy]".into(),
        _ => format!("SESAME_{}", key.to_uppercase()),
    }
}

/// What a sub-command changes before the environment and file are read (`demo` turns the
/// `Secure` cookie off by default; the environment can still turn it back on).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub cookie_secure_default: Option<bool>,
    pub database_url_default: Option<String>,
    /// `--bind`, over `SESAME_BIND`.
    pub bind: Option<SocketAddr>,
}

impl Config {
    /// Reads the process environment.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_explained(file, overrides).map(|(config, _)| config)
    }

    /// `load`, with every effective setting and where it came from (`sesame config check`).
    pub fn load_explained(file: Option<&Path>, overrides: &Overrides) -> Result<(Self, Vec<Setting>), ConfigError> {
        let figment = Self::figment(file, overrides, Env::prefixed("SESAME_"), Env::raw().only(&["DATABASE_URL"]));
        let config = Self::from_figment(&figment)?;
        let settings = config
            .settings()
            .into_iter()
            .map(|(key, value)| {
                let source = match (key, Source::of(&figment, key)) {
                    ("public_url", Source::Default) => Source::Derived("bind"),
                    (_, source) => source,
                };
                Setting { variable: variable_name(key), value, source }
            })
            .collect();
        Ok((config, settings))
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
        figment = figment.merge(sesame_env.only(&KEYS)).merge(db_env);
        if let Some(bind) = overrides.bind {
            figment = figment.merge(Serialized::default("bind", CommandLine(bind.to_string())));
        }
        figment
    }

    /// Every setting as `sesame config check` prints it, by key, secrets hidden. A new setting
    /// is one line here (the test `every_key_is_shown` fails until it is).
    fn settings(&self) -> Vec<(&'static str, String)> {
        let minutes = |d: time::Duration| d.whole_minutes().to_string();
        let mut settings = vec![
            ("database_url", redact_url(&self.database_url)),
            ("bind", self.bind.to_string()),
            ("public_url", self.public_url.to_string()),
            ("trusted_proxies", self.trusted_proxies.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
            ("smtp_url", self.smtp_url.as_ref().map_or_else(String::new, |u| redact_url(u.as_str()))),
            ("smtp_timeout_seconds", self.smtp_timeout.as_secs().to_string()),
            ("hsts_max_age_seconds", self.hsts_max_age_seconds.to_string()),
            ("database_timeout_seconds", self.database_timeout.as_secs().to_string()),
            ("hash_wait_seconds", self.hash_wait.as_secs().to_string()),
            ("mail_dir", self.mail_dir.display().to_string()),
            ("mail_from", self.mail_from.to_string()),
            ("email_domain", self.email_domain.clone()),
            ("cookie_secure", self.cookie_secure.to_string()),
            ("log_format", format!("{:?}", self.log_format).to_lowercase()),
            ("timezone", self.timezone.name.clone()),
            ("institution_name", self.institution_name.clone()),
            (
                "logo_file",
                self.logo
                    .as_ref()
                    .map_or_else(String::new, |l| format!("{} bytes of {}", l.bytes.len(), l.content_type)),
            ),
            ("wizard_timeout_minutes", minutes(self.wizard_timeout)),
            ("session_idle_minutes", minutes(self.session_idle)),
            ("session_max_hours", self.session_max.whole_hours().to_string()),
            ("rules_version", self.rules_version.clone()),
            ("password_policy", serde_json::to_string(&self.password_policy).unwrap_or_default()),
        ];
        let hidden = |set: bool| if set { "(hidden)".to_string() } else { String::new() };
        let path = |p: &Option<PathBuf>| p.as_ref().map_or_else(String::new, |p| p.display().to_string());
        let d = self.directory.as_ref();
        settings.extend([
            ("ldap_url", d.map_or_else(String::new, |d| d.url.to_string())),
            ("ldap_starttls", d.is_some_and(|d| d.starttls).to_string()),
            ("ldap_ca_file", path(&d.and_then(|d| d.ca_file.clone()))),
            ("ldap_bind_dn", d.map_or_else(String::new, |d| d.bind_dn.clone())),
            ("ldap_bind_password", hidden(d.is_some_and(|d| !d.bind_password.expose_secret().is_empty()))),
            ("ldap_bind_password_file", path(&self.secret_files.ldap_bind_password)),
            ("ldap_base_dn", d.map_or_else(String::new, |d| d.base_dn.clone())),
            ("ldap_filter", d.map_or_else(|| RawConfig::default().ldap_filter, |d| d.filter.clone())),
            ("ldap_nt_hash", d.is_some_and(|d| d.nt_hash).to_string()),
            ("secret_key", hidden(self.sealing_key.is_some())),
            ("secret_key_file", path(&self.secret_files.secret_key)),
            ("weak_passwords_file", path(&self.weak_passwords_file)),
            ("helpdesk_email", self.helpdesk.email.clone().unwrap_or_default()),
            ("helpdesk_phone", self.helpdesk.phone.clone().unwrap_or_default()),
            ("helpdesk_hours", self.helpdesk.hours.clone().unwrap_or_default()),
            ("helpdesk_url", self.helpdesk.url.as_ref().map_or_else(String::new, ToString::to_string)),
            // h22: recovery by a one-time code
            ("recovery_code_minutes", self.recovery_code_validity.whole_minutes().to_string()),
            ("sms_url", self.sms.url.as_ref().map_or_else(String::new, |u| redact_url(u.as_str()))),
            ("sms_user", self.sms.user.clone()),
            ("sms_password", hidden(!self.sms.password.expose_secret().is_empty())),
            ("sms_dir", self.sms.dir.display().to_string()),
        ]);
        settings
    }

    /// The built-in defaults, without reading the environment (tests and embedding).
    pub fn defaults() -> Self {
        Self::check(RawConfig::default()).expect("the built-in defaults are valid")
    }

    fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
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
        let public_url = match raw.public_url.trim() {
            "" => public_url_of(bind),
            given => parse_public_url(given)?,
        };
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
        if !(1..=300).contains(&raw.smtp_timeout_seconds) {
            return Err(invalid("smtp_timeout_seconds", "must be between 1 and 300"));
        }
        if raw.hsts_max_age_seconds > 63_072_000 {
            return Err(invalid("hsts_max_age_seconds", "must be between 0 and 63072000 (two years)"));
        }
        if !(1..=60).contains(&raw.database_timeout_seconds) {
            return Err(invalid("database_timeout_seconds", "must be between 1 and 60"));
        }
        if !(1..=60).contains(&raw.hash_wait_seconds) {
            return Err(invalid("hash_wait_seconds", "must be between 1 and 60"));
        }
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
        let timezone = Timezone::named(raw.timezone.trim()).map_err(|e| invalid("timezone", e))?;
        let weak_passwords_file = match raw.weak_passwords_file.trim() {
            "" => None,
            path if Path::new(path).is_file() => Some(PathBuf::from(path)),
            path => return Err(invalid("weak_passwords_file", format!("'{path}' is not a readable file"))),
        };
        raw.password_policy
            .validate()
            .map_err(|e| ConfigError { variable: "password_policy".into(), message: e.to_string() })?;
        let sealing_key = read_secret(&raw.secret_key, &raw.secret_key_file, "secret_key")?
            .map(|key| SealingKey::from_base64(key.expose_secret()).map_err(|e| invalid("secret_key", e)))
            .transpose()?;
        let directory = directory::Settings::check(directory::RawSettings {
            url: &raw.ldap_url,
            starttls: raw.ldap_starttls,
            ca_file: &raw.ldap_ca_file,
            bind_dn: &raw.ldap_bind_dn,
            bind_password: read_secret(&raw.ldap_bind_password, &raw.ldap_bind_password_file, "ldap_bind_password")?,
            base_dn: &raw.ldap_base_dn,
            filter: &raw.ldap_filter,
            nt_hash: raw.ldap_nt_hash,
        })
        .map_err(|(key, message)| invalid(key, message))?;
        if raw.ldap_nt_hash && sealing_key.is_none() {
            return Err(invalid("ldap_nt_hash", "needs SESAME_SECRET_KEY, which seals NT hashes until delivered"));
        }
        // h22: recovery by a one-time code
        if !(1..=24 * 60).contains(&raw.recovery_code_minutes) {
            return Err(invalid("recovery_code_minutes", "must be between 1 and 1440"));
        }
        let sms = crate::sms::Settings::check(&raw.sms_url, &raw.sms_user, &raw.sms_password, &raw.sms_dir)
            .map_err(|(key, message)| invalid(key, message))?;
        let file = |p: &str| Some(PathBuf::from(p.trim())).filter(|p| !p.as_os_str().is_empty());
        let secret_files = SecretFiles {
            ldap_bind_password: file(&raw.ldap_bind_password_file),
            secret_key: file(&raw.secret_key_file),
        };
        let helpdesk =
            Helpdesk::check(&raw.helpdesk_email, &raw.helpdesk_phone, &raw.helpdesk_hours, &raw.helpdesk_url)?;
        Ok(Self {
            helpdesk,
            recovery_code_validity: time::Duration::minutes(raw.recovery_code_minutes.into()),
            sms,
            sms_pace: Pace::SMS,
            secret_files,
            directory,
            directory_pace: Pace::DIRECTORY,
            sealing_key,
            institution_name: raw.institution_name.trim().to_string(),
            logo,
            wizard_timeout: time::Duration::minutes(raw.wizard_timeout_minutes.into()),
            session_idle: time::Duration::minutes(raw.session_idle_minutes.into()),
            session_max: time::Duration::hours(raw.session_max_hours.into()),
            rules_version: raw.rules_version.trim().to_string(),
            password_policy: raw.password_policy,
            weak_passwords_file,
            mail_pace: Pace::MAIL,
            timezone,
            public_url_from_bind: raw.public_url.trim().is_empty(),
            database_url,
            bind,
            public_url,
            trusted_proxies,
            smtp_url,
            smtp_timeout: std::time::Duration::from_secs(raw.smtp_timeout_seconds.into()),
            hsts_max_age_seconds: raw.hsts_max_age_seconds,
            database_timeout: std::time::Duration::from_secs(raw.database_timeout_seconds.into()),
            hash_wait: std::time::Duration::from_secs(raw.hash_wait_seconds.into()),
            mail_dir: PathBuf::from(raw.mail_dir.trim()),
            mail_from,
            email_domain,
            cookie_secure: raw.cookie_secure,
            log_format,
        })
    }

    /// The server listens on `bound` (port 0 asks the system for one): a public URL derived
    /// from the bind address follows it.
    pub fn listening_on(&mut self, bound: SocketAddr) {
        self.bind = bound;
        if self.public_url_from_bind {
            self.public_url = public_url_of(bound);
        }
    }

    /// The path prefix the application is mounted under, without a trailing slash ("" at the root).
    pub fn base_path(&self) -> &str {
        self.public_url.path().trim_end_matches('/')
    }
}

/// The URL of a server listening on `bind`, for when none is configured: the machine's name
/// when it listens on every address.
fn public_url_of(bind: SocketAddr) -> Url {
    let host = if bind.ip().is_unspecified() {
        hostname::get().ok().and_then(|h| h.into_string().ok()).filter(|h| Url::parse(&format!("http://{h}/")).is_ok())
    } else {
        None
    };
    let authority = match host {
        Some(name) => format!("{name}:{}", bind.port()),
        None => bind.to_string(),
    };
    Url::parse(&format!("http://{authority}/")).expect("a socket address is a valid URL authority")
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

/// Where `…_FILE` settings pointed.
#[derive(Debug, Clone, Default)]
pub struct SecretFiles {
    pub ldap_bind_password: Option<PathBuf>,
    pub secret_key: Option<PathBuf>,
}

/// A secret given in the variable itself or in a file (`…_FILE`), never both; a file's
/// trailing newline is not part of it.
fn read_secret(value: &str, file: &str, key: &str) -> Result<Option<SecretString>, ConfigError> {
    let file_key = format!("{key}_file");
    match (value.is_empty(), file.trim()) {
        (true, "") => Ok(None),
        (false, "") => Ok(Some(SecretString::from(value.to_string()))),
        (true, path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| invalid(&file_key, format!("cannot read {path}: {e}")))?;
            Ok(Some(SecretString::from(text.trim_end_matches(['\r', '\n']).to_string())))
        }
        (false, _) => Err(invalid(key, format!("and {} are both set: keep one", variable_name(&file_key)))),
    }
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

    /// Runs `Config::load_explained` with exactly these variables and file, in figment's sandbox.
    fn load_in_jail(
        vars: &[(&str, &str)],
        toml: Option<&str>,
        overrides: Overrides,
    ) -> Result<(Config, Vec<Setting>), ConfigError> {
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
            result = Some(Config::load_explained(file, &overrides));
            Ok(())
        });
        result.expect("jail ran")
    }

    fn load(vars: &[(&str, &str)], toml: Option<&str>, overrides: Overrides) -> Result<Config, ConfigError> {
        load_in_jail(vars, toml, overrides).map(|(config, _)| config)
    }

    #[test]
    fn defaults_are_the_contracts() {
        let c = load(&[], None, Overrides::default()).unwrap();
        assert_eq!(c.database_url, "sqlite://sesame.db");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(c.timezone.name(), "Europe/Paris");
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

    #[test]
    fn an_unset_public_url_follows_the_bind_address() {
        let c = load(&[("SESAME_BIND", "127.0.0.2:9000")], None, Overrides::default()).unwrap();
        assert_eq!(c.public_url.as_str(), "http://127.0.0.2:9000/");
        let flag = Overrides { bind: Some("[::1]:8443".parse().unwrap()), ..Default::default() };
        let c = load(&[("SESAME_BIND", "127.0.0.2:9000")], None, flag.clone()).unwrap();
        assert_eq!((c.bind.to_string(), c.public_url.as_str()), ("[::1]:8443".into(), "http://[::1]:8443/"));
        let c = load(&[("SESAME_PUBLIC_URL", "https://ent.example.edu/sesame")], None, flag).unwrap();
        assert_eq!(c.public_url.as_str(), "https://ent.example.edu/sesame", "a configured URL wins");
        let everywhere = load(&[("SESAME_BIND", "0.0.0.0:8080")], None, Overrides::default()).unwrap();
        assert!(!everywhere.public_url.as_str().contains("0.0.0.0"), "{}", everywhere.public_url);
        assert_eq!(everywhere.public_url.port(), Some(8080));
    }

    #[test]
    fn the_time_zone_is_an_iana_name_checked_at_start() {
        let err = load(&[("SESAME_TIMEZONE", "Europe/Pariss")], None, Overrides::default()).unwrap_err();
        assert_eq!(err.variable, "SESAME_TIMEZONE");
        assert!(err.message.contains("'Europe/Pariss' is not a time zone"), "{err}");
        let c = load(&[("SESAME_TIMEZONE", "America/Martinique")], None, Overrides::default()).unwrap();
        assert_eq!(c.timezone.text(time::macros::datetime!(2026-07-01 12:00 UTC)), "2026-07-01 08:00:00 -04:00");
    }

    #[test]
    fn local_time_follows_daylight_saving() {
        let paris = Timezone::named("Europe/Paris").unwrap();
        assert_eq!(paris.text(time::macros::datetime!(2026-01-15 09:30:05 UTC)), "2026-01-15 10:30:05 +01:00");
        assert_eq!(paris.text(time::macros::datetime!(2026-07-15 09:30:05 UTC)), "2026-07-15 11:30:05 +02:00");
        let local = paris.local(time::macros::datetime!(2026-07-15 22:30 UTC));
        assert_eq!((local.date(), local.unix_timestamp()), (time::macros::date!(2026 - 07 - 16), 1_784_154_600));
        assert_eq!(
            paris.start_of_day(time::macros::date!(2026 - 01 - 10)),
            time::macros::datetime!(2026-01-09 23:00 UTC)
        );
        assert_eq!(
            paris.start_of_day(time::macros::date!(2026 - 07 - 10)),
            time::macros::datetime!(2026-07-09 22:00 UTC)
        );
        let havana = Timezone::named("America/Havana").unwrap();
        // Cuba springs forward at midnight: 8 March 2026 starts at 01:00 local.
        assert_eq!(
            havana.start_of_day(time::macros::date!(2026 - 03 - 08)),
            time::macros::datetime!(2026-03-08 05:00 UTC)
        );
    }

    fn explain(vars: &[(&str, &str)], toml: Option<&str>, overrides: Overrides) -> Vec<Setting> {
        load_in_jail(vars, toml, overrides).expect("valid").1
    }

    #[test]
    fn every_setting_says_where_it_came_from() {
        let settings = explain(
            &[("DATABASE_URL", "postgres://sesame:hunter2@db/sesame"), ("SESAME_EMAIL_DOMAIN", "univ.fr")],
            Some(
                "institution_name = \"Université Test\"\nbind = \"127.0.0.1:7000\"\n[password_policy]\nmin_length = 14",
            ),
            Overrides { bind: Some("127.0.0.1:9000".parse().unwrap()), ..Default::default() },
        );
        let of =
            |variable: &str| settings.iter().find(|s| s.variable == variable).unwrap_or_else(|| panic!("{variable}"));
        assert_eq!(
            (of("DATABASE_URL").value.as_str(), of("DATABASE_URL").source),
            ("postgres://sesame:***@db/sesame", Source::Environment)
        );
        assert_eq!(of("SESAME_EMAIL_DOMAIN").source, Source::Environment);
        assert_eq!(of("SESAME_INSTITUTION_NAME").source, Source::File);
        assert_eq!(of("[password_policy]").source, Source::File);
        assert!(of("[password_policy]").value.contains("\"min_length\":14"));
        assert_eq!(
            (of("SESAME_BIND").value.as_str(), of("SESAME_BIND").source),
            ("127.0.0.1:9000", Source::CommandLine)
        );
        assert_eq!(of("SESAME_PUBLIC_URL").source.to_string(), "default, from SESAME_BIND");
        assert_eq!(of("SESAME_TIMEZONE").source, Source::Default);
        assert!(settings.iter().all(|s| !s.value.contains("hunter2")));
    }

    #[test]
    fn every_key_is_shown_by_config_check() {
        let shown: Vec<&str> = Config::defaults().settings().into_iter().map(|(key, _)| key).collect();
        for key in KEYS.iter().chain(&["database_url", "password_policy"]) {
            assert!(
                shown.contains(key),
                "{key} is read but config check does not print it: add it to Config::settings"
            );
        }
        let smtp =
            load(&[("SESAME_SMTP_URL", "smtps://user:s3cret@mail.example.edu")], None, Overrides::default()).unwrap();
        assert!(smtp.settings().iter().all(|(_, v)| !v.contains("s3cret")));
    }

    #[test]
    fn the_help_desk_contact_is_optional_and_checked() {
        let none = load(&[], None, Overrides::default()).unwrap().helpdesk;
        assert!(!none.is_reachable() && none == Helpdesk::default());
        let vars = [
            ("SESAME_HELPDESK_EMAIL", " assistance@univ.example "),
            ("SESAME_HELPDESK_PHONE", "03 27 51 12 34"),
            ("SESAME_HELPDESK_HOURS", "lundi–vendredi, 8 h 30–17 h"),
            ("SESAME_HELPDESK_URL", "https://support.univ.example/"),
        ];
        let desk = load(&vars, None, Overrides::default()).unwrap().helpdesk;
        assert_eq!(desk.email.as_deref(), Some("assistance@univ.example"));
        assert_eq!(desk.phone.as_deref(), Some("03 27 51 12 34"));
        assert!(desk.is_reachable() && desk.hours.is_some() && desk.url.is_some());
        let hours_only = load(&vars[2..3], None, Overrides::default()).unwrap().helpdesk;
        assert!(!hours_only.is_reachable());
        for (key, value) in [("SESAME_HELPDESK_EMAIL", "nobody"), ("SESAME_HELPDESK_URL", "javascript:alert(1)")] {
            let e = load(&[(key, value)], None, Overrides::default()).unwrap_err();
            assert_eq!(e.variable, key);
        }
    }
}
