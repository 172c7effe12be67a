//! The mails Sésame sends, rendered in the person's language; never a password in any of them.

use askama::Template;

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
) -> Result<NewMail, askama::Error> {
    let sign_in_url = format!("{}/login", public_url.as_str().trim_end_matches('/'));
    let body_text = ActivatedMail { locale, person, sign_in_url, institution }.render()?;
    Ok(NewMail {
        kind: "activated",
        recipient: person.email.clone(),
        subject: locale.t("mail.activated.subject"),
        body_text,
    })
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
    fn the_confirmation_names_the_login_and_links_under_the_prefix() {
        let url = url::Url::parse("https://ent.example.edu/sesame").unwrap();
        for locale in [Locale::Fr, Locale::En] {
            let mail = activated(locale, &person(), &url, "Université Test").unwrap();
            assert_eq!(mail.recipient, "elodie.leboeuf@example.edu");
            assert!(mail.body_text.contains("elodie.leboeuf") && mail.body_text.contains("100001"));
            assert!(mail.body_text.contains("https://ent.example.edu/sesame/login"), "{}", mail.body_text);
            assert!(mail.body_text.contains("Élodie"), "no HTML escaping in plain text");
            assert!(!mail.subject.is_empty());
        }
    }
}
