//! `sesame demo`: seeds a few people, one per way of identifying, and prints how to use them.

use time::OffsetDateTime;

use super::import::{Options, import_lines};
use crate::config::Config;
use crate::domain::import_plan::ImportLine;
use crate::domain::person::{RecordFields, parse_record};
use crate::store::{Store, StoreError};

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

pub async fn seed(store: &dyn Store, config: &Config) -> Result<(), StoreError> {
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
    println!(
        "Recovery codes: by mail to {} ({}) once activated, in {}; by SMS to the phone given at activation, in {}",
        PERSONAL_EMAIL.1,
        PERSONAL_EMAIL.0,
        config.mail_dir.display(),
        config.sms.dir.display()
    );
    Ok(())
}
