//! A request's database work is bounded: a database that accepts connections but never answers
//! gets the calm 503 within the database time-out, instead of holding the person (and a
//! connection of the proxy) for the whole outage.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::AppState;
use super::error::AppError;
use crate::hashing::{HashClock, timing_hashes};

/// How often a deadline reached during a hash looks again: hashes have their own bound.
const DURING_A_HASH: Duration = Duration::from_millis(50);

/// Gives the request `SESAME_DATABASE_TIMEOUT_SECONDS`, not counting the time its password
/// hashes take (bounded by the hashing queue's wait); beyond, the 503 with Retry-After.
pub async fn bounded(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.config.database_timeout;
    let clock = Arc::new(HashClock::default());
    let work = timing_hashes(clock.clone(), next.run(request));
    tokio::pin!(work);
    let started = Instant::now();
    let mut deadline = started + limit;
    loop {
        tokio::select! {
            response = &mut work => return response,
            () = tokio::time::sleep_until(deadline) => {
                let due = started + limit + clock.spent();
                deadline = if clock.running() {
                    Instant::now() + DURING_A_HASH
                } else if due > Instant::now() {
                    due
                } else {
                    return AppError::Deadline(limit).into_response();
                };
            }
        }
    }
}
