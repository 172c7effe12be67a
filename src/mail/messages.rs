//! The mails Sésame sends, rendered in the person's language; never a password in any of them.

use askama::Template;

use crate::config::Helpdesk;
use crate::domain::activation::Identified;
use crate::i18n::Locale;
use crate::store::NewMail;

#[derive(Template)]
#[template(path = "mail/activated.txt")]
struct ActivatedMail<'a> {
    locale: Locale,
    person: &'a Identified,
    sign_in_url: String,
    institution: &'a str,
    helpdesk: &'a Helpdesk,
}

impl ActivatedMail<'_> {
    fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }
}

/// The confirmation that an account is active: login, uid and address, and where to sign in.
pub fn activated(
    locale: Locale,
    person: &Identified,
    public_url: &url::Url,
    institution: &str,
    helpdesk: &Helpdesk,
) -> Result<NewMail, askama::Error> {
    let sign_in_url = format!("{}/login", public_url.as_str().trim_end_matches('/'));
    let body_text = ActivatedMail { locale, person, sign_in_url, institution, helpdesk }.render()?;
    Ok(NewMail {
        kind: "activated",
        recipient: person.email.clone(),
        subject: locale.t("mail.activated.subject"),
        body_text,
    })
}

#[derive(Template)]
#[template(path = "mail/notice.txt")]
struct NoticeMail<'a> {
    locale: Locale,
    given_name: &'a str,
    family_name: &'a str,
    what: String,
    when: String,
    from: &'a str,
    institution: &'a str,
    helpdesk: &'a Helpdesk,
}

impl NoticeMail<'_> {
    fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }
}

/// A change to an account, told to its owner: what, when and from which address.
pub struct Notice<'a> {
    pub kind: &'static str,
    pub locale: Locale,
    pub recipient: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    /// When, in the institution's time (`Config::timezone.local`): shown with its offset.
    pub at: time::OffsetDateTime,
    pub client_addr: &'a str,
    pub institution: &'a str,
    pub helpdesk: &'a Helpdesk,
}

/// `kind` is "password_changed", "question_changed" or "preferences_changed"; its texts are
/// `mail.<kind>.*`.
pub fn notice(n: &Notice<'_>) -> Result<NewMail, askama::Error> {
    let when =
        n.at.format(&time::macros::format_description!(
            "[day]/[month]/[year] [hour]:[minute] (UTC[offset_hour sign:mandatory]:[offset_minute])"
        ))
        .unwrap_or_default();
    let body_text = NoticeMail {
        locale: n.locale,
        given_name: n.given_name,
        family_name: n.family_name,
        what: n.locale.t(&format!("mail.{}.body", n.kind)),
        when,
        from: n.client_addr,
        institution: n.institution,
        helpdesk: n.helpdesk,
    }
    .render()?;
    Ok(NewMail {
        kind: n.kind,
        recipient: n.recipient.to_string(),
        subject: n.locale.t(&format!("mail.{}.subject", n.kind)),
        body_text,
    })
}

// h22: one-time codes by mail.
#[derive(Template)]
#[template(path = "mail/one_time_code.txt")]
struct CodeMail<'a> {
    locale: Locale,
    given_name: &'a str,
    family_name: &'a str,
    body: String,
    institution: &'a str,
}

impl CodeMail<'_> {
    fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }
}

/// What a one-time code by mail is for; its texts are `<prefix>.subject`, `.body`, `.not_you`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// Recovering forgotten credentials.
    Recovery,
    /// Confirming a personal address given in the account area.
    ConfirmAddress,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recovery => "recovery",
            Self::ConfirmAddress => "confirm_address",
        }
    }
}

/// A one-time code and how long it is valid, for the personal address: the subject, then the
/// body, which the caller seals before it is queued.
pub fn one_time_code(
    purpose: CodePurpose,
    locale: Locale,
    given_name: &str,
    family_name: &str,
    code: &crate::domain::recovery_code::OneTimeCode,
    minutes: u32,
    institution: &str,
) -> Result<(String, String), askama::Error> {
    let prefix = format!("code_mail.{}", purpose.as_str());
    let params = [("code", code.as_str().to_string()), ("minutes", minutes.to_string())];
    let body = locale.t_with(&format!("{prefix}.body"), &params);
    let text = CodeMail { locale, given_name, family_name, body, institution }.render()?;
    Ok((locale.t(&format!("{prefix}.subject")), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Identified {
        Identified {
            person_id: 7,
            uid: "100001".into(),
            login: "elodie.leboeuf".into(),
            email: "elodie.leboeuf@example.edu".into(),
            given_name: "Élodie".into(),
            family_name: "Le Bœuf".into(),
            identifier: "12345".into(),
            birth_date: time::macros::date!(1985 - 07 - 14),
        }
    }

    #[test]
    fn a_notice_says_what_when_and_from_where() {
        let paris = crate::config::Timezone::named("Europe/Paris").unwrap();
        let at = paris.local(time::macros::datetime!(2026-11-28 08:05 UTC));
        for kind in ["password_changed", "question_changed", "preferences_changed"] {
            let n = Notice {
                kind,
                locale: Locale::Fr,
                recipient: "a@b.fr",
                given_name: "Zoé",
                family_name: "Martin",
                at,
                client_addr: "198.51.100.7",
                institution: "Université",
                helpdesk: &Helpdesk::default(),
            };
            let mail = notice(&n).unwrap();
            assert!(mail.body_text.contains("28/11/2026 09:05 (UTC+01:00)"), "{}", mail.body_text);
            assert!(mail.body_text.contains("198.51.100.7"));
            assert!(!mail.subject.starts_with("mail."), "{}", mail.subject);
        }
    }

    #[test]
    fn mails_end_with_the_help_desk_when_there_is_one() {
        let url = url::Url::parse("https://ent.example.edu/").unwrap();
        let desk = Helpdesk {
            email: Some("assistance@example.edu".into()),
            phone: Some("03 27 51 12 34".into()),
            hours: Some("9 h – 17 h".into()),
            url: None,
        };
        for (locale, title) in
            [(Locale::Fr, "Pour joindre l’assistance informatique\u{a0}:"), (Locale::En, "To reach the IT help desk:")]
        {
            let with = activated(locale, &person(), &url, "U", &desk).unwrap().body_text;
            let tail = with.split(title).nth(1).unwrap_or_else(|| panic!("no help desk in {with}"));
            for shown in ["assistance@example.edu", "03 27 51 12 34", "9 h – 17 h"] {
                assert!(tail.contains(shown), "{shown} in {tail}");
            }
            let n = Notice {
                kind: "password_changed",
                locale,
                recipient: "a@b.fr",
                given_name: "Zoé",
                family_name: "Martin",
                at: time::OffsetDateTime::UNIX_EPOCH,
                client_addr: "198.51.100.7",
                institution: "U",
                helpdesk: &desk,
            };
            assert!(notice(&n).unwrap().body_text.trim_end().ends_with("9 h – 17 h"));
            let without = activated(locale, &person(), &url, "U", &Helpdesk::default()).unwrap().body_text;
            assert!(!without.contains(title) && without.trim_end().ends_with("\nU"), "{without}");
        }
    }

    #[test]
    fn the_confirmation_names_the_login_and_links_under_the_prefix() {
        let url = url::Url::parse("https://ent.example.edu/sesame").unwrap();
        for locale in [Locale::Fr, Locale::En] {
            let mail = activated(locale, &person(), &url, "Université Test", &Helpdesk::default()).unwrap();
            assert_eq!(mail.recipient, "elodie.leboeuf@example.edu");
            assert!(mail.body_text.contains("elodie.leboeuf") && mail.body_text.contains("100001"));
            assert!(mail.body_text.contains("https://ent.example.edu/sesame/login"), "{}", mail.body_text);
            assert!(mail.body_text.contains("Élodie"), "no HTML escaping in plain text");
            assert!(!mail.subject.is_empty());
        }
    }
}
