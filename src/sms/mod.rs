//! Outgoing SMS (recovery codes): queued sealed in the SMS outbox, sent to an esup-smsu-api
//! gateway or written to files when none is configured.

pub mod worker;

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// One request to the gateway gives up after this long.
const GATEWAY_TIMEOUT: Duration = Duration::from_secs(10);

/// `SESAME_SMS_*`.
#[derive(Clone)]
pub struct Settings {
    /// The gateway; `None`: messages are written as files to `dir`.
    pub url: Option<Url>,
    pub user: String,
    pub password: SecretString,
    pub dir: PathBuf,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("url", &self.url.as_ref().map(Url::as_str))
            .field("user", &self.user)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Checks the raw values; the error names the key at fault.
    pub fn check(url: &str, user: &str, password: &str, dir: &str) -> Result<Self, (&'static str, String)> {
        let url = match url.trim() {
            "" => None,
            s => {
                let url = Url::parse(s).map_err(|e| ("sms_url", format!("not a URL ({e})")))?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
                    return Err(("sms_url", "must be an http:// or https:// URL with a host".into()));
                }
                Some(url)
            }
        };
        if dir.trim().is_empty() {
            return Err(("sms_dir", "must not be empty".into()));
        }
        Ok(Self {
            url,
            user: user.trim().to_string(),
            password: SecretString::from(password.to_string()),
            dir: PathBuf::from(dir.trim()),
        })
    }
}

/// Where SMS go.
#[derive(Clone)]
pub enum Transport {
    Gateway { client: reqwest::Client, url: Url, user: String, password: SecretString },
    Files(PathBuf),
}

impl Transport {
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        match &settings.url {
            Some(url) => {
                let client = reqwest::Client::builder()
                    .timeout(GATEWAY_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| format!("SESAME_SMS_URL: {e}"))?;
                let mut url = url.clone();
                url.query_pairs_mut().append_pair("action", "SendSms");
                Ok(Self::Gateway { client, url, user: settings.user.clone(), password: settings.password.clone() })
            }
            None => Ok(Self::Files(settings.dir.clone())),
        }
    }

    /// Sends one message to `phone` (E.164); the error text (never the message) is kept in the
    /// outbox for the help desk.
    pub async fn send(&self, phone: &str, message: &str, message_id: &str) -> Result<(), String> {
        match self {
            Self::Gateway { client, url, user, password } => {
                let answer = client
                    .post(url.clone())
                    .basic_auth(user, Some(password.expose_secret()))
                    .form(&[("phoneNumber", phone), ("message", message)])
                    .send()
                    .await
                    .map_err(|e| format!("gateway unreachable: {}", without_url(e)))?;
                let status = answer.status();
                if !status.is_success() {
                    return Err(format!("gateway answered {status}"));
                }
                let body: serde_json::Value =
                    answer.json().await.map_err(|e| format!("gateway answer is not JSON: {}", without_url(e)))?;
                match body.get("status").and_then(|s| s.as_str()) {
                    Some("OK") => Ok(()),
                    other => Err(format!("gateway status {}", other.unwrap_or("missing"))),
                }
            }
            Self::Files(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| format!("{}: {e}", dir.display()))?;
                let path = dir.join(format!("{message_id}.txt"));
                tokio::fs::write(&path, format!("To: {phone}\n\n{message}\n"))
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }
}

/// reqwest's errors name the URL, whose query is ours but whose user part might not be.
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_take_http_urls_only_and_a_folder() {
        assert!(Settings::check("", "", "", "./sms").unwrap().url.is_none());
        assert!(Settings::check("https://sms.example.edu/api", "u", "p", "./sms").unwrap().url.is_some());
        assert_eq!(Settings::check("ftp://x", "", "", "./sms").unwrap_err().0, "sms_url");
        assert_eq!(Settings::check("not a url", "", "", "./sms").unwrap_err().0, "sms_url");
        assert_eq!(Settings::check("", "", "", " ").unwrap_err().0, "sms_dir");
    }
}
