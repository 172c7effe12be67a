//! One connection to the directory, bound as the service account, with timeouts on every step.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Mod, Scope, SearchEntry};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::ExposeSecret;

use super::Settings;
use crate::domain::directory::{EntryClasses, Replace, is_refusal};

pub use crate::domain::directory::Failure as DeliveryError;

/// The trusted certificates of `SESAME_LDAP_CA_FILE`.
pub(super) fn read_ca_file(path: &Path) -> Result<rustls::RootCertStore, String> {
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{} is not PEM: {e}", path.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(roots)
}

fn tls_config(settings: &Settings) -> Result<Option<Arc<rustls::ClientConfig>>, String> {
    let Some(path) = &settings.ca_file else { return Ok(None) };
    let roots = read_ca_file(path)?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(Arc::new(config)))
}

/// The text kept for the help desk: the result code's name and the server's words, never a value sent.
fn failure(error: LdapError) -> DeliveryError {
    match error {
        LdapError::LdapResult { result } if is_refusal(result.rc) => DeliveryError::Refused(result.to_string()),
        other => DeliveryError::Transient(other.to_string()),
    }
}

/// A person's entry, as found by the filter.
#[derive(Debug, Clone)]
pub struct Entry {
    pub dn: String,
    pub classes: EntryClasses,
}

pub struct Connection {
    ldap: Ldap,
    settings: Settings,
}

impl Connection {
    /// Connects (StartTLS when asked) and binds as the service account.
    pub async fn open(settings: &Settings) -> Result<Self, DeliveryError> {
        let mut conn_settings =
            LdapConnSettings::new().set_conn_timeout(settings.bind_timeout).set_starttls(settings.starttls);
        if let Some(config) = tls_config(settings).map_err(DeliveryError::Transient)? {
            conn_settings = conn_settings.set_config(config);
        }
        let (conn, mut ldap) =
            LdapConnAsync::with_settings(conn_settings, settings.url.as_str()).await.map_err(failure)?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "directory: connection closed");
            }
        });
        if !settings.bind_dn.is_empty() {
            let bound = ldap
                .with_timeout(settings.bind_timeout)
                .simple_bind(&settings.bind_dn, settings.bind_password.expose_secret())
                .await
                .and_then(ldap3::LdapResult::success);
            // A refused service bind is the configuration's fault, not one person's: keep retrying.
            bound.map_err(|e| DeliveryError::Transient(format!("bind as {} failed: {e}", settings.bind_dn)))?;
        }
        Ok(Self { ldap, settings: settings.clone() })
    }

    pub fn is_closed(&mut self) -> bool {
        self.ldap.is_closed()
    }

    /// The one entry the filter finds for this uid: none or several is a refusal.
    pub async fn find(&mut self, uid: &str) -> Result<Entry, DeliveryError> {
        let filter = self.settings.filter_for(uid);
        let (entries, _) = self
            .ldap
            .with_timeout(self.settings.operation_timeout)
            .search(&self.settings.base_dn, Scope::Subtree, &filter, vec!["objectClass"])
            .await
            .and_then(ldap3::SearchResult::success)
            .map_err(failure)?;
        match entries.len() {
            1 => {
                let entry = SearchEntry::construct(entries.into_iter().next().expect("one"));
                let classes = entry.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case("objectClass"));
                let classes =
                    EntryClasses::from_names(classes.into_iter().flat_map(|(_, v)| v.iter().map(String::as_str)));
                Ok(Entry { dn: entry.dn, classes })
            }
            0 => Err(DeliveryError::Refused(format!("no entry matches {filter} under {}", self.settings.base_dn))),
            n => Err(DeliveryError::Refused(format!("{n} entries match {filter} under {}", self.settings.base_dn))),
        }
    }

    /// One modify with every replace.
    pub async fn modify(&mut self, dn: &str, mods: &[Replace]) -> Result<(), DeliveryError> {
        let mods: Vec<Mod<String>> = mods
            .iter()
            .map(|m| Mod::Replace(m.attribute.to_string(), m.values.iter().cloned().collect::<HashSet<_>>()))
            .collect();
        self.ldap
            .with_timeout(self.settings.operation_timeout)
            .modify(dn, mods)
            .await
            .and_then(ldap3::LdapResult::success)
            .map(drop)
            .map_err(failure)
    }

    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }

    /// What `sesame directory check` prints: bind, the base, and the argon2 module when cn=config tells.
    pub async fn check(settings: &Settings) -> Check {
        let mut check = Check::default();
        let mut conn = match Self::open(settings).await {
            Ok(conn) => {
                let who = if settings.bind_dn.is_empty() { "anonymously" } else { settings.bind_dn.as_str() };
                check.line(true, format!("connected to {} and bound {who}", settings.url));
                conn
            }
            Err(e) => {
                check.line(false, format!("cannot connect and bind to {}: {}", settings.url, e.text()));
                return check;
            }
        };
        let base = conn
            .ldap
            .with_timeout(settings.operation_timeout)
            .search(&settings.base_dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
            .await
            .and_then(ldap3::SearchResult::success);
        match base {
            Ok((entries, _)) if entries.len() == 1 => check.line(true, format!("found the base {}", settings.base_dn)),
            Ok(_) => check.line(false, format!("the base {} is not visible to this account", settings.base_dn)),
            Err(e) => check.line(false, format!("cannot search {}: {e}", settings.base_dn)),
        }
        let modules = conn
            .ldap
            .with_timeout(settings.operation_timeout)
            .search("cn=config", Scope::Subtree, "(olcModuleLoad=*)", vec!["olcModuleLoad"])
            .await
            .and_then(ldap3::SearchResult::success);
        let loaded = modules.ok().map(|(entries, _)| {
            entries
                .into_iter()
                .map(SearchEntry::construct)
                .any(|e| e.attrs.values().flatten().any(|m| m.to_ascii_lowercase().contains("argon2")))
        });
        check.notes.push(match loaded {
            Some(true) => "argon2: the module is loaded (cn=config), so {ARGON2} passwords verify".into(),
            Some(false) => "argon2: cn=config lists no argon2 module: binds with {ARGON2} passwords will fail".into(),
            None => "argon2: cannot tell (cn=config is not readable by this account); see docs/deploy.md".into(),
        });
        conn.close().await;
        check
    }
}

impl DeliveryError {
    pub fn text(&self) -> &str {
        match self {
            Self::Transient(t) | Self::Refused(t) => t,
        }
    }
}

/// The outcome of `directory check`: lines that passed or failed, and notes.
#[derive(Debug, Default)]
pub struct Check {
    pub lines: Vec<(bool, String)>,
    pub notes: Vec<String>,
}

impl Check {
    fn line(&mut self, ok: bool, text: String) {
        self.lines.push((ok, text));
    }

    pub fn ok(&self) -> bool {
        !self.lines.is_empty() && self.lines.iter().all(|(ok, _)| *ok)
    }
}
