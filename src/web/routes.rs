//! Every page's path below the public URL's prefix, named once: routers, redirects and links
//! use these (the activation wizard's steps are `domain::activation::Step::path`).

pub const HOME: &str = "/";
pub const RULES: &str = "/rules";
pub const HELP: &str = "/help";

pub const ACTIVATE_IDENTIFY: &str = "/activate/identify";

pub const RECOVER: &str = "/recover";
pub const RECOVER_QUESTION: &str = "/recover/question";
pub const RECOVER_PASSWORD: &str = "/recover/password";
pub const RECOVER_DONE: &str = "/recover/done";
// h22: recovery by a one-time code
pub const RECOVER_SEND: &str = "/recover/send";
pub const RECOVER_CODE: &str = "/recover/code";
pub const ACCOUNT_RECOVERY: &str = "/account/recovery";
pub const ACCOUNT_RECOVERY_CONFIRM: &str = "/account/recovery/confirm";

pub const LOGIN: &str = "/login";
pub const LOGOUT: &str = "/logout";
pub const ACCOUNT: &str = "/account";
pub const ACCOUNT_PASSWORD: &str = "/account/password";
pub const ACCOUNT_QUESTION: &str = "/account/question";
pub const ACCOUNT_PREFERENCES: &str = "/account/preferences";

pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const METRICS: &str = "/metrics";
pub const STATIC: &str = "/static/{name}";
