//! The institution's LDAP directory: Sésame finds a person's entry and modifies it, so that the
//! ENT's single sign-on, the wifi and mail accept the new password within seconds. Changes wait
//! in the directory outbox (written with the change itself) and a worker delivers them.

mod client;
pub mod worker;

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::config::Config;

pub use client::{Check, Connection, DeliveryError};

/// Checked `SESAME_LDAP_*` settings. The bind password is a `SecretString`: never printed.
#[derive(Clone)]
pub struct Settings {
    pub url: Url,
    pub starttls: bool,
    pub ca_file: Option<PathBuf>,
    pub bind_dn: String,
    pub bind_password: SecretString,
    pub base_dn: String,
    /// With `{uid}` where the escaped uid goes.
    pub filter: String,
    /// Also write `sambaNTPassword` (needs `SESAME_SECRET_KEY`).
    pub nt_hash: bool,
    /// Connecting and binding give up after this long…
    pub bind_timeout: Duration,
    /// …and each search or modify after this long.
    pub operation_timeout: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("url", &self.url.as_str())
            .field("starttls", &self.starttls)
            .field("bind_dn", &self.bind_dn)
            .field("base_dn", &self.base_dn)
            .field("filter", &self.filter)
            .field("nt_hash", &self.nt_hash)
            .finish_non_exhaustive()
    }
}

/// The raw `SESAME_LDAP_*` values, as the configuration read them.
#[derive(Debug, Clone, Default)]
pub struct RawSettings<'a> {
    pub url: &'a str,
    pub starttls: bool,
    pub ca_file: &'a str,
    pub bind_dn: &'a str,
    pub bind_password: Option<SecretString>,
    pub base_dn: &'a str,
    pub filter: &'a str,
    pub nt_hash: bool,
}

/// What is wrong with one setting: its key (as in `ldap_base_dn`) and why.
pub type SettingError = (&'static str, String);

impl Settings {
    /// `None` without a URL: no directory (the embedded default).
    pub fn check(raw: RawSettings) -> Result<Option<Self>, SettingError> {
        let url = match raw.url.trim() {
            "" => {
                if raw.nt_hash {
                    return Err(("ldap_nt_hash", "needs SESAME_LDAP_URL".into()));
                }
                return Ok(None);
            }
            s => Url::parse(s).map_err(|e| ("ldap_url", format!("not a URL ({e})")))?,
        };
        match url.scheme() {
            "ldap" | "ldaps" | "ldapi" => {}
            _ => return Err(("ldap_url", "must start with ldap://, ldaps:// or ldapi://".into())),
        }
        if url.scheme() != "ldapi" && url.host_str().is_none_or(str::is_empty) {
            return Err(("ldap_url", "names no host".into()));
        }
        if raw.starttls && url.scheme() != "ldap" {
            return Err(("ldap_starttls", "goes only with an ldap:// URL (ldaps:// is TLS already)".into()));
        }
        let ca_file = match raw.ca_file.trim() {
            "" => None,
            path => {
                let path = PathBuf::from(path);
                client::read_ca_file(&path).map_err(|e| ("ldap_ca_file", e))?;
                Some(path)
            }
        };
        let base_dn = raw.base_dn.trim();
        if base_dn.is_empty() {
            return Err(("ldap_base_dn", "is required with SESAME_LDAP_URL".into()));
        }
        let filter = raw.filter.trim();
        if !(filter.starts_with('(') && filter.ends_with(')') && filter.contains("{uid}")) {
            return Err(("ldap_filter", format!("'{filter}' must be an LDAP filter in parentheses with {{uid}}")));
        }
        let bind_dn = raw.bind_dn.trim();
        let bind_password = raw.bind_password.unwrap_or_else(|| SecretString::from(""));
        if bind_dn.is_empty() != bind_password.expose_secret().is_empty() {
            return Err(("ldap_bind_dn", "and SESAME_LDAP_BIND_PASSWORD go together (both or neither)".into()));
        }
        Ok(Some(Self {
            url,
            starttls: raw.starttls,
            ca_file,
            bind_dn: bind_dn.to_string(),
            bind_password,
            base_dn: base_dn.to_string(),
            filter: filter.to_string(),
            nt_hash: raw.nt_hash,
            bind_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(10),
        }))
    }

    /// The filter that finds the person with this uid, the uid escaped (RFC 4515).
    pub fn filter_for(&self, uid: &str) -> String {
        self.filter.replace("{uid}", &ldap3::ldap_escape(uid))
    }
}

/// The NT hash of a password being set, sealed for its wait in the directory outbox; `None`
/// unless the deployment writes NT hashes (`SESAME_LDAP_NT_HASH`, which requires the key).
pub fn sealed_nt_hash(config: &Config, person_id: i64, password: &SecretString) -> Option<Vec<u8>> {
    let key = config.sealing_key.as_ref()?;
    config.directory.as_ref().filter(|d| d.nt_hash)?;
    let hash = crate::domain::directory::nt_hash(password.expose_secret());
    Some(key.seal(hash.as_bytes(), &worker::nt_context(person_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSettings<'static> {
        RawSettings {
            url: "ldap://127.0.0.1:389",
            base_dn: "ou=people,dc=example,dc=edu",
            filter: "(uid={uid})",
            bind_dn: "cn=sesame,dc=example,dc=edu",
            bind_password: Some(SecretString::from("s3cret")),
            ..Default::default()
        }
    }

    #[test]
    fn no_url_no_directory() {
        assert!(Settings::check(RawSettings { url: " ", ..raw() }).unwrap().is_none());
        assert_eq!(Settings::check(RawSettings { url: "", nt_hash: true, ..raw() }).unwrap_err().0, "ldap_nt_hash");
    }

    #[test]
    fn each_bad_setting_is_named() {
        let key = |r: RawSettings<'static>| Settings::check(r).unwrap_err().0;
        assert_eq!(key(RawSettings { url: "http://x", ..raw() }), "ldap_url");
        assert_eq!(key(RawSettings { url: "ldap://", ..raw() }), "ldap_url");
        assert_eq!(key(RawSettings { url: "ldaps://x", starttls: true, ..raw() }), "ldap_starttls");
        assert_eq!(key(RawSettings { base_dn: "", ..raw() }), "ldap_base_dn");
        assert_eq!(key(RawSettings { filter: "uid={uid}", ..raw() }), "ldap_filter");
        assert_eq!(key(RawSettings { filter: "(uid=x)", ..raw() }), "ldap_filter");
        assert_eq!(key(RawSettings { bind_password: None, ..raw() }), "ldap_bind_dn");
        assert_eq!(key(RawSettings { ca_file: "/nonexistent/ca.pem", ..raw() }), "ldap_ca_file");
    }

    #[test]
    fn the_uid_is_escaped_into_the_filter() {
        let s = Settings::check(raw()).unwrap().unwrap();
        assert_eq!(s.filter_for("jdupont"), "(uid=jdupont)");
        assert_eq!(s.filter_for("*)(uid=*"), "(uid=\\2a\\29\\28uid=\\2a)");
        assert_eq!(s.filter_for("a\\b\0"), "(uid=a\\5cb\\00)");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let s = Settings::check(raw()).unwrap().unwrap();
        assert!(!format!("{s:?}").contains("s3cret"));
    }
}
