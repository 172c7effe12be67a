//! Sésame: self-service account activation for universities.

pub mod cli;
pub mod config;
pub mod directory;
pub mod domain;
pub mod hashing;
pub mod i18n;
pub mod mail;
pub mod outbox;
pub mod sealing;
pub mod sms;
pub mod store;
pub mod telemetry;
pub mod weak_passwords;
pub mod web;

rust_i18n::i18n!("locales", fallback = "fr");

pub use web::{AppState, app};
