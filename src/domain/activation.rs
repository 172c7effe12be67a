//! The activation wizard as a state machine: which steps are done, which one comes next.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// The steps in the seed's order, with the progress shown at each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Step {
    Identify,
    Question,
    Sms,
    Photo,
    Password,
    Done,
}

impl Step {
    /// The seed's percentages (identification has none of its own there).
    pub fn progress(self) -> u8 {
        match self {
            Self::Identify => 20,
            Self::Question => 60,
            Self::Sms => 80,
            Self::Photo => 85,
            Self::Password => 90,
            Self::Done => 100,
        }
    }

    /// The page of this step, below the application's prefix.
    pub fn path(self) -> &'static str {
        match self {
            Self::Identify => "/activate",
            Self::Question => "/activate/question",
            Self::Sms => "/activate/sms",
            Self::Photo => "/activate/photo",
            Self::Password => "/activate/password",
            Self::Done => "/activate/done",
        }
    }

    /// The step « Précédent » leads to.
    pub fn previous(self) -> Option<Self> {
        match self {
            Self::Identify | Self::Done => None,
            Self::Question => Some(Self::Identify),
            Self::Sms => Some(Self::Question),
            Self::Photo => Some(Self::Sms),
            Self::Password => Some(Self::Photo),
        }
    }
}

/// The person the wizard is about, known only after identification succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identified {
    pub person_id: i64,
    pub uid: String,
    pub login: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    /// As typed at identification (normalised), so the answer may not repeat it.
    pub identifier: String,
    pub birth_date: time::Date,
}

/// The chosen question and the Argon2 hash of the normalised answer (never the answer).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionChoice {
    pub question_id: String,
    pub custom_question: Option<String>,
    pub answer_hash: String,
}

impl std::fmt::Debug for QuestionChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuestionChoice")
            .field("question_id", &self.question_id)
            .field("custom_question", &self.custom_question)
            .field("answer_hash", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsChoice {
    /// The mobile number in E.164 when the person accepted; None when they refused.
    pub phone: Option<String>,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoChoice {
    pub consent: bool,
    pub at: OffsetDateTime,
}

/// What the session holds between steps. It cannot exist without an identified person,
/// so no later step can be reached without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wizard {
    pub person: Identified,
    pub question: Option<QuestionChoice>,
    pub sms: Option<SmsChoice>,
    pub photo: Option<PhotoChoice>,
    pub last_seen: OffsetDateTime,
}

impl Wizard {
    pub fn start(person: Identified, now: OffsetDateTime) -> Self {
        Self { person, question: None, sms: None, photo: None, last_seen: now }
    }

    /// The first step not yet done.
    pub fn next_step(&self) -> Step {
        if self.question.is_none() {
            Step::Question
        } else if self.sms.is_none() {
            Step::Sms
        } else if self.photo.is_none() {
            Step::Photo
        } else {
            Step::Password
        }
    }

    /// Whether `step` may be shown: every step before it is done. Otherwise the step to go to.
    pub fn allows(&self, step: Step) -> Result<(), Step> {
        let next = self.next_step();
        if step == Step::Identify || step <= next { Ok(()) } else { Err(next) }
    }

    pub fn expired(&self, now: OffsetDateTime, idle: Duration) -> bool {
        now - self.last_seen > idle
    }
}

/// What the confirmation page shows once the account exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activated {
    pub login: String,
    pub uid: String,
    pub email: String,
    pub sms_consent: bool,
    pub photo_consent: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-28 10:00 UTC);

    fn wizard() -> Wizard {
        Wizard::start(
            Identified {
                person_id: 1,
                uid: "u1".into(),
                login: "jean.dupont".into(),
                email: "jean.dupont@example.edu".into(),
                given_name: "Jean".into(),
                family_name: "Dupont".into(),
                identifier: "12345".into(),
                birth_date: date!(1980 - 01 - 02),
            },
            NOW,
        )
    }

    fn question() -> QuestionChoice {
        QuestionChoice { question_id: "first_pet".into(), custom_question: None, answer_hash: "$argon2id$x".into() }
    }

    #[test]
    fn a_new_wizard_starts_at_the_question_and_allows_nothing_beyond() {
        let w = wizard();
        assert_eq!(w.next_step(), Step::Question);
        assert_eq!(w.allows(Step::Question), Ok(()));
        for later in [Step::Sms, Step::Photo, Step::Password, Step::Done] {
            assert_eq!(w.allows(later), Err(Step::Question), "{later:?}");
        }
    }

    #[test]
    fn each_step_done_opens_the_next_and_earlier_ones_stay_open() {
        let mut w = wizard();
        w.question = Some(question());
        assert_eq!(w.allows(Step::Sms), Ok(()));
        assert_eq!(w.allows(Step::Photo), Err(Step::Sms));
        w.sms = Some(SmsChoice { phone: None, at: NOW });
        w.photo = Some(PhotoChoice { consent: true, at: NOW });
        assert_eq!(w.next_step(), Step::Password);
        for step in [Step::Identify, Step::Question, Step::Sms, Step::Photo, Step::Password] {
            assert_eq!(w.allows(step), Ok(()), "{step:?}");
        }
        assert_eq!(w.allows(Step::Done), Err(Step::Password), "done only after the account exists");
    }

    #[test]
    fn progress_follows_the_seed_and_previous_walks_back() {
        let steps = [Step::Question, Step::Sms, Step::Photo, Step::Password, Step::Done];
        assert_eq!(steps.map(Step::progress), [60, 80, 85, 90, 100]);
        assert_eq!(Step::Password.previous(), Some(Step::Photo));
        assert_eq!(Step::Question.previous(), Some(Step::Identify));
        assert_eq!(Step::Done.previous(), None);
    }

    #[test]
    fn the_wizard_expires_after_the_idle_time() {
        let w = wizard();
        assert!(!w.expired(NOW + Duration::minutes(15), Duration::minutes(15)));
        assert!(w.expired(NOW + Duration::minutes(15) + Duration::seconds(1), Duration::minutes(15)));
    }

    #[test]
    fn the_answer_hash_never_shows_in_debug() {
        assert!(!format!("{:?}", question()).contains("argon2"));
    }
}
