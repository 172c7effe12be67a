//! `sesame demo`: seeds a few people, one per way of identifying, and prints how to use them.

use time::OffsetDateTime;

use super::import::{Options, import_lines};
use crate::config::Config;
use crate::domain::import_plan::ImportLine;
use crate::domain::person::{RecordFields, parse_record};
use crate::store::{AuditEvent, NewAccount, NewMail, Store};

pub const DATABASE_URL: &str = "sqlite://sesame-demo.db";

struct DemoPerson {
    uid: &'static str,
    category: &'static str,
    given_name: &'static str,
    family_name: &'static str,
    birth_date: &'static str,
    staff_number: Option<&'static str>,
    student_number: Option<&'static str>,
    ine: Option<&'static str>,
    /// How this person is meant to identify in the demo.
    method: &'static str,
}

const fn person(
    uid: &'static str,
    category: &'static str,
    (given_name, family_name): (&'static str, &'static str),
    birth_date: &'static str,
    (staff_number, student_number, ine): (Option<&'static str>, Option<&'static str>, Option<&'static str>),
    method: &'static str,
) -> DemoPerson {
    DemoPerson { uid, category, given_name, family_name, birth_date, staff_number, student_number, ine, method }
}

/// One person per way of identifying, a name with accents, and two people of the same name.
const PEOPLE: [DemoPerson; 6] = [
    person("100001", "staff", ("Élodie", "Le Bœuf"), "14/07/1985", (Some("12345"), None, None), "staff_number"),
    person(
        "100002",
        "student",
        ("Jean-Pierre", "N'Diaye"),
        "02/03/2004",
        (None, Some("22001234"), None),
        "student_number",
    ),
    person("100003", "student", ("Zoé", "Martin"), "30/09/2005", (None, Some("22005678"), Some("1234567890A")), "ine"),
    person("ext-0042", "external", ("Agnès", "Dubois"), "21/12/1978", (None, None, None), "uid"),
    person("100005", "staff", ("Camille", "Durand"), "20/05/1990", (Some("54321"), None, None), "staff_number"),
    person("100006", "student", ("Camille", "Durand"), "11/11/2003", (None, Some("22009999"), None), "student_number"),
];

/// h22: who has a personal address in the demo, where their recovery codes go by mail.
const PERSONAL_EMAIL: (&str, &str) = ("ext-0042", "agnes.dubois@example.org");
/// h22: who has a mobile number (SMS accepted) in the demo, where their codes go by SMS.
const MOBILE: (&str, &str) = ("100005", "+33612345678");
/// h22: the password and answer of the two people activated for recovery by a code.
const CODE_PASSWORD: &str = "Demo-Recuperation-2026";
const CODE_ANSWER: &str = "Rex";

impl DemoPerson {
    fn identifier(&self) -> &'static str {
        match self.method {
            "staff_number" => self.staff_number,
            "student_number" => self.student_number,
            "ine" => self.ine,
            _ => None,
        }
        .unwrap_or(self.uid)
    }
}

pub async fn seed(store: &dyn Store, config: &Config) -> anyhow::Result<()> {
    let today = OffsetDateTime::now_utc().date();
    let lines: Vec<ImportLine> = PEOPLE
        .iter()
        .zip(2..)
        .map(|(p, line)| {
            let fields = RecordFields {
                uid: Some(p.uid),
                category: Some(p.category),
                given_name: Some(p.given_name),
                family_name: Some(p.family_name),
                birth_date: Some(p.birth_date),
                staff_number: p.staff_number,
                student_number: p.student_number,
                ine: p.ine,
                email: None,
                login: None,
                personal_email: (p.uid == PERSONAL_EMAIL.0).then_some(PERSONAL_EMAIL.1),
            };
            let record = parse_record(&fields, today).map_err(|e| e.to_string());
            ImportLine { line, uid: Some(p.uid.to_string()), record }
        })
        .collect();
    let (plan, _) = import_lines(store, lines, &config.email_domain, Options::default()).await?;
    debug_assert!(plan.rejected.is_empty(), "demo people must be valid: {:?}", plan.rejected);

    println!("Demo people (identify with the method, the identifier and the birth date):");
    println!("  {:<15} {:<12} {:<11} name", "method", "identifier", "birth date");
    for p in &PEOPLE {
        let (method, id, born, given, family, category) =
            (p.method, p.identifier(), p.birth_date, p.given_name, p.family_name, p.category);
        println!("  {method:<15} {id:<12} {born:<11} {given} {family} ({category})");
    }
    println!("Mail is written to {}", config.mail_dir.display());
    activate_for_codes(store, config).await?;
    println!(
        "Recovery by a one-time code: Camille Durand (staff_number 54321, 20/05/1990; mobile 06 12 34 56 78) \
         and Agnès Dubois (uid ext-0042, 21/12/1978; personal address {}) are activated, password {CODE_PASSWORD}, \
         answer {CODE_ANSWER}. Their codes are written to {} (SMS) and {} (mail).",
        PERSONAL_EMAIL.1,
        config.sms.dir.display(),
        config.mail_dir.display()
    );
    Ok(())
}

/// h22: activates the person with a mobile number and the one with a personal address, so that
/// recovery by a code can be tried at once; a second demo run finds them activated already.
async fn activate_for_codes(store: &dyn Store, config: &Config) -> anyhow::Result<()> {
    use crate::domain::identifiers::{IdentificationMethod, Identifier};
    use crate::domain::security_answer::AnswerForms;
    use secrecy::SecretString;
    let hasher = crate::hashing::Hasher::owasp();
    let password_hash = hasher.hash(&SecretString::from(CODE_PASSWORD)).await?;
    let answer_hash = hasher.hash(&SecretString::from(AnswerForms::of(CODE_ANSWER).current)).await?;
    let at = OffsetDateTime::now_utc();
    for (uid, phone) in [(MOBILE.0, Some(MOBILE.1)), (PERSONAL_EMAIL.0, None)] {
        let id = Identifier::parse(IdentificationMethod::Uid, uid).map_err(|e| anyhow::anyhow!("{uid}: {e}"))?;
        let Some(person) = store.find_person(&id).await? else { continue };
        let account = NewAccount {
            person_id: person.id,
            password_hash: password_hash.clone(),
            question_id: "first_pet".into(),
            custom_question: None,
            answer_hash: answer_hash.clone(),
            phone: phone.map(str::to_string),
            sms_consent_at: at,
            photo_consent: false,
            photo_consent_at: at,
            rules_version: config.rules_version.clone(),
            at,
            nt_sealed: None,
        };
        let audit = AuditEvent {
            kind: "activated",
            actor: "demo".into(),
            person_id: Some(person.id),
            client_addr: None,
            detail: String::new(),
            at,
        };
        let mail = NewMail {
            kind: "activated",
            recipient: person.email.clone(),
            subject: "Sésame demo".into(),
            body_text: "Activated by `sesame demo`, to try recovery by a one-time code.".into(),
        };
        store.activate(&account, config.password_policy.history_depth.max(1), &audit, &mail).await?;
    }
    Ok(())
}
