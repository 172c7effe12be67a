//! Pure rules of the domain: parsing, checking and deciding, with no I/O.

pub mod activation;
pub mod birth_date;
pub mod email;
pub mod identifiers;
pub mod import_plan;
pub mod login;
pub mod password_policy;
pub mod person;
pub mod phone;
pub mod security_answer;
pub mod throttle;
