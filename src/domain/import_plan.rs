//! Decides what a people import does: which lines are kept, each person's login and e-mail, who is disabled.

// SipHash was a fifth of planning 100,000 lines; the keys come from the admin's own file.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use time::Date;

use super::email::Email;
use super::login::{Login, LoginAllocator, base_login};
use super::person::NewPerson;

/// Whether a person may use the portal; `disabled_by` says who decided, since an import
/// may only undo what an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisabledBy {
    Import,
    Helpdesk,
}

impl DisabledBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Import => "import",
            Self::Helpdesk => "helpdesk",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "import" => Some(Self::Import),
            "helpdesk" => Some(Self::Helpdesk),
            _ => None,
        }
    }
}

impl std::fmt::Display for DisabledBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person as the store holds them, with what an import compares and must keep unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingPerson {
    pub uid: String,
    pub category: String,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Date,
    pub staff_number: Option<String>,
    pub student_number: Option<String>,
    pub ine: Option<String>,
    pub email: String,
    pub login: String,
    pub disabled_by: Option<DisabledBy>,
    pub personal_email: Option<String>,
}

/// One data line of the file: its number (the header is line 1), the uid cell when it
/// could be read, and the parsed person or why it could not be.
#[derive(Debug, Clone)]
pub struct ImportLine {
    pub line: u64,
    pub uid: Option<String>,
    pub record: Result<NewPerson, String>,
}

/// What the store writes for one person: inserted when the uid is new, updated otherwise
/// (the login of an existing person is never changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonUpsert {
    pub uid: String,
    pub category: String,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Date,
    pub staff_number: Option<String>,
    pub student_number: Option<String>,
    pub ine: Option<String>,
    pub email: String,
    pub login: String,
    /// `None` keeps the one the store has: a person may give it in the account area.
    pub personal_email: Option<String>,
    /// Absent from the store when the plan was made.
    pub new: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub line: u64,
    pub reason: String,
}

/// Who ran an import and on which file, for its audit line; the caller sets it (`plan` cannot know).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportOrigin {
    pub file: String,
    /// The operating-system user who ran the command.
    pub operator: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportPlan {
    pub origin: ImportOrigin,
    pub upserts: Vec<PersonUpsert>,
    /// uids to disable: present in the store, active, and absent from the file.
    pub disable: Vec<String>,
    pub rejected: Vec<Rejection>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub reenabled: usize,
    /// People active in the store when the plan was made.
    pub active: usize,
}

/// How many people an import with `--disable-missing` may disable before it is refused: a
/// number of people, or a share of the active people (rounded down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisableLimit {
    People(usize),
    Percent(u8),
}

impl Default for DisableLimit {
    /// Directory-sync tools' usual guard: a leavers' batch is a few percent; a truncated or
    /// wrong export is far more.
    fn default() -> Self {
        Self::Percent(5)
    }
}

impl std::str::FromStr for DisableLimit {
    type Err = String;

    /// `N` (people) or `N%` (of the active people, 0 to 100).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || format!("'{s}' is neither a number of people (such as 40) nor a share (such as 10%)");
        match s.strip_suffix('%') {
            Some(percent) => match percent.trim().parse::<u8>() {
                Ok(p) if p <= 100 => Ok(Self::Percent(p)),
                _ => Err(bad()),
            },
            None => s.parse::<usize>().map(Self::People).map_err(|_| bad()),
        }
    }
}

impl std::fmt::Display for DisableLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::People(n) => write!(f, "{n}"),
            Self::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl DisableLimit {
    /// The most people this limit lets an import disable out of `active`.
    pub fn allowed(self, active: usize) -> usize {
        match self {
            Self::People(n) => n,
            Self::Percent(p) => active * usize::from(p) / 100,
        }
    }
}

/// Why an import with `--disable-missing` must write nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisableRefusal {
    /// A header alone is a failed export, never a list of leavers; no limit lets it through.
    NoDataLine {
        active: usize,
    },
    TooMany {
        disable: usize,
        active: usize,
        allowed: usize,
        limit: DisableLimit,
    },
}

impl std::fmt::Display for DisableRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Self::NoDataLine { active } => write!(
                f,
                "the file has no data line: --disable-missing would disable everyone ({} active); \
                 such a file is always refused with --disable-missing",
                people(active)
            ),
            Self::TooMany { disable, active, allowed, limit } => write!(
                f,
                "--disable-missing would disable {} of {} active, more than --max-disable {limit} allows ({allowed}); \
                 if the file is right, run again with --max-disable {disable}",
                people(disable),
                active
            ),
        }
    }
}

impl std::error::Error for DisableRefusal {}

/// "1 person", "2 people".
pub fn people(n: usize) -> String {
    if n == 1 { "1 person".into() } else { format!("{n} people") }
}

/// The cron-safety guard: refuses a plan that would disable more people than `limit` allows,
/// or that comes from a file with no data line.
pub fn check_disable(plan: &ImportPlan, data_lines: usize, limit: DisableLimit) -> Result<(), DisableRefusal> {
    if plan.disable.is_empty() && data_lines > 0 {
        return Ok(());
    }
    let (disable, active) = (plan.disable.len(), plan.active);
    if data_lines == 0 {
        return Err(DisableRefusal::NoDataLine { active });
    }
    let allowed = limit.allowed(active);
    if disable > allowed {
        return Err(DisableRefusal::TooMany { disable, active, allowed, limit });
    }
    Ok(())
}

/// Which column holds a unique value, for the message naming a clash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UniqueColumn {
    StaffNumber,
    StudentNumber,
    Ine,
    Email,
    Login,
}

impl UniqueColumn {
    fn name(self) -> &'static str {
        match self {
            Self::StaffNumber => "staff_number",
            Self::StudentNumber => "student_number",
            Self::Ine => "ine",
            Self::Email => "email",
            Self::Login => "login",
        }
    }
}

/// Builds the plan. Pure: the caller loads `existing` and writes the plan in one transaction.
pub fn plan(
    existing: &[ExistingPerson],
    lines: Vec<ImportLine>,
    email_domain: &str,
    disable_missing: bool,
) -> ImportPlan {
    let by_uid: HashMap<&str, &ExistingPerson> = existing.iter().map(|p| (p.uid.as_str(), p)).collect();
    // Owner uid of every unique value, one map per column, from the store first, then claimed
    // by accepted lines.
    let mut owners: [HashMap<String, String>; 5] = Default::default();
    // Everyone has an e-mail and a login: sized once rather than grown through every doubling.
    for column in [UniqueColumn::Email, UniqueColumn::Login] {
        owners[column as usize].reserve(existing.len() + lines.len());
    }
    for p in existing {
        for (column, value) in unique_values(&p.staff_number, &p.student_number, &p.ine, &p.email, &p.login) {
            owners[column as usize].insert(value, p.uid.clone());
        }
    }
    // Logins given explicitly anywhere in the file are reserved before any is generated,
    // so a generated login never takes the one a later line asks for.
    let requested_logins: HashSet<String> = lines
        .iter()
        .filter_map(|l| l.record.as_ref().ok())
        .filter(|p| !by_uid.contains_key(p.uid.as_str()))
        .filter_map(|p| p.login.as_ref().map(|l| l.as_str().to_string()))
        .collect();

    let mut plan = ImportPlan {
        upserts: Vec::with_capacity(lines.len()),
        active: existing.iter().filter(|p| p.disabled_by.is_none()).count(),
        ..ImportPlan::default()
    };
    let mut logins = LoginAllocator::default();
    let mut seen_uids: HashMap<String, u64> = HashMap::with_capacity(lines.len());
    // Only `disable_missing` asks who the file names.
    let mut present: HashSet<String> = HashSet::new();

    for line in lines {
        if let Some(uid) = line.uid.as_ref().filter(|_| disable_missing) {
            present.insert(uid.clone());
        }
        let person = match line.record {
            Ok(p) => p,
            Err(reason) => {
                plan.rejected.push(Rejection { line: line.line, reason });
                continue;
            }
        };
        let uid = person.uid.as_str().to_string();
        if disable_missing {
            present.insert(uid.clone());
        }
        if let Some(first) = seen_uids.get(&uid) {
            plan.rejected
                .push(Rejection { line: line.line, reason: format!("uid: {uid} already appears on line {first}") });
            continue;
        }
        seen_uids.insert(uid.clone(), line.line);

        let current = by_uid.get(uid.as_str()).copied();
        let login = match current {
            Some(p) => p.login.clone(),
            None => match &person.login {
                Some(given) => given.as_str().to_string(),
                None => {
                    let base = base_login(person.given_name.as_str(), person.family_name.as_str());
                    let taken = |candidate: &str| {
                        requested_logins.contains(candidate)
                            || owners[UniqueColumn::Login as usize].contains_key(candidate)
                    };
                    logins.allocate(&base, taken).as_str().to_string()
                }
            },
        };
        let email = match &person.email {
            Some(e) => e.as_str().to_string(),
            None => match Login::parse(&login) {
                Ok(l) => Email::institutional(&l, email_domain).as_str().to_string(),
                Err(e) => {
                    plan.rejected.push(Rejection { line: line.line, reason: format!("login: {e}") });
                    continue;
                }
            },
        };
        let upsert = PersonUpsert {
            uid: uid.clone(),
            category: person.category.as_str().to_string(),
            given_name: person.given_name.as_str().to_string(),
            family_name: person.family_name.as_str().to_string(),
            birth_date: person.birth_date.date(),
            staff_number: person.staff_number.as_ref().map(|v| v.as_str().to_string()),
            student_number: person.student_number.as_ref().map(|v| v.as_str().to_string()),
            ine: person.ine.as_ref().map(|v| v.as_str().to_string()),
            email,
            login,
            personal_email: person.personal_email.as_ref().map(|e| e.as_str().to_string()),
            new: current.is_none(),
        };

        let values =
            unique_values(&upsert.staff_number, &upsert.student_number, &upsert.ine, &upsert.email, &upsert.login);
        if let Some((column, value, owner)) = values.iter().find_map(|(column, value)| {
            owners[*column as usize].get(value).filter(|owner| **owner != uid).map(|owner| (*column, value, owner))
        }) {
            let reason = format!("{}: {value} already belongs to uid {owner}", column.name());
            plan.rejected.push(Rejection { line: line.line, reason });
            continue;
        }
        for (column, value) in values {
            owners[column as usize].insert(value, uid.clone());
        }

        match current {
            None => {
                plan.created += 1;
                plan.upserts.push(upsert);
            }
            Some(existing) => {
                let reenable = existing.disabled_by == Some(DisabledBy::Import);
                if reenable {
                    plan.reenabled += 1;
                }
                if reenable || !same_data(existing, &upsert) {
                    plan.updated += 1;
                    plan.upserts.push(upsert);
                } else {
                    plan.unchanged += 1;
                }
            }
        }
    }

    if disable_missing {
        plan.disable = existing
            .iter()
            .filter(|p| p.disabled_by.is_none() && !present.contains(&p.uid))
            .map(|p| p.uid.clone())
            .collect();
    }
    plan
}

fn unique_values(
    staff_number: &Option<String>,
    student_number: &Option<String>,
    ine: &Option<String>,
    email: &str,
    login: &str,
) -> Vec<(UniqueColumn, String)> {
    // Mail servers ignore the case of an address (its local part is ASCII, its domain already
    // lower-case): `Marie.Curie@` and `marie.curie@` are one mailbox, and one person's.
    let mut values = vec![(UniqueColumn::Email, email.to_ascii_lowercase()), (UniqueColumn::Login, login.to_string())];
    for (column, value) in [
        (UniqueColumn::StaffNumber, staff_number),
        (UniqueColumn::StudentNumber, student_number),
        (UniqueColumn::Ine, ine),
    ] {
        if let Some(v) = value {
            values.insert(values.len() - 2, (column, v.clone()));
        }
    }
    values
}

fn same_data(existing: &ExistingPerson, upsert: &PersonUpsert) -> bool {
    existing.category == upsert.category
        && existing.given_name == upsert.given_name
        && existing.family_name == upsert.family_name
        && existing.birth_date == upsert.birth_date
        && existing.staff_number == upsert.staff_number
        && existing.student_number == upsert.student_number
        && existing.ine == upsert.ine
        && existing.email == upsert.email
        && (upsert.personal_email.is_none() || existing.personal_email == upsert.personal_email)
}

#[cfg(test)]
mod tests {
    use super::super::person::{RecordFields, parse_record};
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 28);

    fn line(n: u64, uid: &str, given: &str, family: &str, extra: &[(&str, &str)]) -> ImportLine {
        let get = |k: &str| extra.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        let fields = RecordFields {
            uid: Some(uid),
            category: Some(get("category").unwrap_or("staff")),
            given_name: Some(given),
            family_name: Some(family),
            birth_date: Some(get("birth_date").unwrap_or("1980-01-02")),
            staff_number: get("staff_number"),
            student_number: get("student_number"),
            ine: get("ine"),
            email: get("email"),
            login: get("login"),
            personal_email: get("personal_email"),
        };
        ImportLine {
            line: n,
            uid: Some(uid.to_string()),
            record: parse_record(&fields, TODAY).map_err(|e| e.to_string()),
        }
    }

    fn existing(uid: &str, login: &str) -> ExistingPerson {
        ExistingPerson {
            uid: uid.into(),
            category: "staff".into(),
            given_name: "Old".into(),
            family_name: "Person".into(),
            birth_date: date!(1970 - 01 - 01),
            staff_number: None,
            student_number: None,
            ine: None,
            email: format!("{login}@example.edu"),
            login: login.into(),
            disabled_by: None,
            personal_email: None,
        }
    }

    #[test]
    fn generated_logins_are_folded_and_numbered_when_taken() {
        let lines = vec![line(2, "u1", "Élodie", "Le Bœuf", &[]), line(3, "u2", "Elodie", "Leboeuf", &[])];
        let p = plan(&[], lines, "univ.fr", false);
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(p.upserts[0].login, "elodie.leboeuf");
        assert_eq!(p.upserts[0].email, "elodie.leboeuf@univ.fr");
        assert_eq!(p.upserts[1].login, "elodie.leboeuf2");
        assert_eq!(p.created, 2);
    }

    #[test]
    fn a_login_once_given_never_changes() {
        let before = [existing("u1", "jdupont")];
        let lines = vec![line(2, "u1", "Jean", "Martin", &[("login", "jmartin")])];
        let p = plan(&before, lines, "univ.fr", false);
        assert_eq!(p.upserts[0].login, "jdupont");
        assert_eq!(p.updated, 1);
    }

    #[test]
    fn a_generated_login_avoids_the_store_and_later_requested_logins() {
        let before = [existing("u0", "ada.lovelace")];
        let lines = vec![
            line(2, "u1", "Ada", "Lovelace", &[]),
            line(3, "u2", "Someone", "Else", &[("login", "ada.lovelace2")]),
        ];
        let p = plan(&before, lines, "univ.fr", false);
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(p.upserts[0].login, "ada.lovelace3");
        assert_eq!(p.upserts[1].login, "ada.lovelace2");
    }

    #[test]
    fn a_duplicate_uid_in_the_file_rejects_the_later_line() {
        let lines = vec![line(2, "u1", "A", "B", &[]), line(3, "u1", "C", "D", &[])];
        let p = plan(&[], lines, "univ.fr", false);
        assert_eq!(p.rejected, vec![Rejection { line: 3, reason: "uid: u1 already appears on line 2".into() }]);
    }

    #[test]
    fn an_identifier_held_by_someone_else_rejects_the_line() {
        let mut other = existing("u0", "x.y");
        other.staff_number = Some("12345".into());
        let lines = vec![
            line(2, "u1", "A", "B", &[("staff_number", "12345")]),
            line(3, "u2", "C", "D", &[("ine", "1234567890A")]),
            line(4, "u3", "E", "F", &[("ine", "1234567890a")]),
        ];
        let p = plan(&[other], lines, "univ.fr", false);
        assert_eq!(p.rejected.len(), 2, "{:?}", p.rejected);
        assert_eq!(p.rejected[0].line, 2);
        assert!(p.rejected[0].reason.starts_with("staff_number: 12345 already belongs to uid u0"));
        assert_eq!(p.rejected[1].line, 4);
        assert!(p.rejected[1].reason.starts_with("ine:"));
    }

    #[test]
    fn an_address_differing_only_in_case_is_the_same_mailbox() {
        let mut other = existing("u0", "marie.curiesklodowska");
        other.email = "Marie.Curie@univ.fr".into();
        let lines = vec![
            line(2, "u1", "Marie", "Curie", &[]),
            line(3, "u2", "Pierre", "Curie", &[("email", "P.Curie@univ.fr")]),
            line(4, "u3", "Paul", "Curie", &[("email", "p.curie@UNIV.fr")]),
            line(5, "u0", "Marie", "Curie-Sklodowska", &[("email", "marie.curie@univ.fr")]),
        ];
        let p = plan(&[other], lines, "univ.fr", false);
        let reasons: Vec<(u64, &str)> = p.rejected.iter().map(|r| (r.line, r.reason.as_str())).collect();
        assert_eq!(
            reasons,
            [
                (2, "email: marie.curie@univ.fr already belongs to uid u0"),
                (4, "email: p.curie@univ.fr already belongs to uid u2")
            ]
        );
        assert_eq!(
            p.upserts.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
            ["P.Curie@univ.fr", "marie.curie@univ.fr"]
        );
    }

    #[test]
    fn a_requested_login_already_taken_rejects_the_line() {
        let before = [existing("u0", "taken")];
        let p = plan(&before, vec![line(2, "u1", "A", "B", &[("login", "taken")])], "univ.fr", false);
        assert_eq!(p.rejected.len(), 1);
        assert!(p.rejected[0].reason.starts_with("login: taken already belongs to uid u0"), "{:?}", p.rejected);
    }

    #[test]
    fn unchanged_people_are_not_written_again() {
        let mut p0 = existing("u1", "old.person");
        p0.birth_date = date!(1980 - 01 - 02);
        let p = plan(&[p0], vec![line(2, "u1", "Old", "Person", &[])], "example.edu", false);
        assert_eq!((p.created, p.updated, p.unchanged), (0, 0, 1));
        assert!(p.upserts.is_empty());
    }

    #[test]
    fn a_new_or_changed_personal_address_updates_the_person() {
        let mut p0 = existing("u1", "old.person");
        p0.birth_date = date!(1980 - 01 - 02);
        let mail = [("personal_email", "Old.Person@Perso.ORG")];
        let p = plan(&[p0.clone()], vec![line(2, "u1", "Old", "Person", &mail)], "example.edu", false);
        assert_eq!((p.updated, p.unchanged), (1, 0));
        assert_eq!(p.upserts[0].personal_email.as_deref(), Some("Old.Person@perso.org"));
        p0.personal_email = Some("Old.Person@perso.org".into());
        let p = plan(&[p0.clone()], vec![line(2, "u1", "Old", "Person", &mail)], "example.edu", false);
        assert_eq!((p.updated, p.unchanged), (0, 1));
        // Absent from the file: the address the store has stays (it may come from the account area).
        let p = plan(&[p0], vec![line(2, "u1", "Old", "Person", &[])], "example.edu", false);
        assert_eq!((p.updated, p.unchanged), (0, 1));
    }

    #[test]
    fn disable_missing_spares_people_in_the_file_even_on_rejected_lines() {
        let before = [existing("u1", "a"), existing("u2", "b"), existing("u3", "c")];
        let mut bad = line(3, "u2", "A", "B", &[("birth_date", "31/02/1990")]);
        assert!(bad.record.is_err());
        bad.uid = Some("u2".into());
        let p = plan(&before, vec![line(2, "u1", "A", "B", &[]), bad], "example.edu", true);
        assert_eq!(p.disable, vec!["u3".to_string()]);
        let p = plan(&before, vec![line(2, "u1", "A", "B", &[])], "example.edu", false);
        assert!(p.disable.is_empty());
    }

    #[test]
    fn import_reenables_only_whom_an_import_disabled() {
        let mut by_import = existing("u1", "a");
        by_import.disabled_by = Some(DisabledBy::Import);
        let mut by_desk = existing("u2", "b");
        by_desk.disabled_by = Some(DisabledBy::Helpdesk);
        let lines = vec![line(2, "u1", "Old", "Person", &[]), line(3, "u2", "Old", "Person", &[])];
        let p = plan(&[by_import, by_desk], lines, "example.edu", true);
        assert_eq!(p.reenabled, 1);
        assert!(p.disable.is_empty(), "already disabled people are not disabled again");
    }

    fn disabling(n: usize, active: usize) -> ImportPlan {
        ImportPlan { disable: (0..n).map(|i| format!("u{i}")).collect(), active, ..ImportPlan::default() }
    }

    #[test]
    fn the_guard_lets_five_percent_of_the_active_people_go_by_default() {
        let limit = DisableLimit::default();
        assert_eq!(check_disable(&disabling(5, 100), 95, limit), Ok(()));
        let refused = check_disable(&disabling(6, 100), 94, limit).unwrap_err();
        assert_eq!(refused, DisableRefusal::TooMany { disable: 6, active: 100, allowed: 5, limit });
        let said = refused.to_string();
        assert!(said.contains("6 people of 100 active") && said.contains("--max-disable 5% allows (5)"), "{said}");
        assert!(said.ends_with("run again with --max-disable 6"), "{said}");
        assert!(check_disable(&disabling(1, 19), 18, limit).unwrap_err().to_string().contains("1 person of 19"));
        assert_eq!(check_disable(&disabling(0, 0), 3, limit), Ok(()), "nobody to disable, nothing to refuse");
    }

    #[test]
    fn a_forced_limit_lets_the_planned_count_through() {
        assert_eq!(check_disable(&disabling(50, 100), 50, DisableLimit::People(50)), Ok(()));
        assert_eq!(check_disable(&disabling(50, 100), 50, DisableLimit::Percent(50)), Ok(()));
        assert!(check_disable(&disabling(51, 100), 49, DisableLimit::Percent(50)).is_err());
    }

    #[test]
    fn a_file_without_data_lines_is_refused_whatever_the_limit() {
        for limit in [DisableLimit::default(), DisableLimit::People(1_000_000), DisableLimit::Percent(100)] {
            assert_eq!(check_disable(&disabling(3, 3), 0, limit), Err(DisableRefusal::NoDataLine { active: 3 }));
        }
        let said = DisableRefusal::NoDataLine { active: 1 }.to_string();
        assert!(said.contains("everyone (1 person active)") && said.contains("always refused"), "{said}");
    }

    #[test]
    fn a_limit_is_a_number_of_people_or_a_share() {
        assert_eq!("40".parse(), Ok(DisableLimit::People(40)));
        assert_eq!(" 10% ".parse(), Ok(DisableLimit::Percent(10)));
        assert_eq!("0".parse::<DisableLimit>().map(|l| l.allowed(1000)), Ok(0));
        assert_eq!("100%".parse::<DisableLimit>().map(|l| l.allowed(7)), Ok(7));
        assert_eq!(DisableLimit::Percent(5).allowed(19), 0, "rounded down");
        for bad in ["101%", "-1", "ten", "5 %%", ""] {
            assert!(bad.parse::<DisableLimit>().unwrap_err().contains("neither"), "{bad}");
        }
        assert_eq!(DisableLimit::Percent(5).to_string(), "5%");
    }

    #[test]
    fn the_plan_counts_the_active_people() {
        let mut gone = existing("u2", "b");
        gone.disabled_by = Some(DisabledBy::Helpdesk);
        let p = plan(&[existing("u1", "a"), gone], vec![], "example.edu", true);
        assert_eq!((p.active, p.disable.len()), (1, 1));
    }
}
