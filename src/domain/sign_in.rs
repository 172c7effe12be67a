//! What a person types into the sign-in form's `login` field: their login or their address.

use super::email::Email;
use super::login::Login;

/// A login, or an institutional e-mail address standing for one; parsed before it reaches the
/// throttle or a query, so that neither sees what could never name an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInName {
    Login(Login),
    /// Lower-cased whole: the store compares addresses without regard to case.
    Email(String),
}

impl SignInName {
    /// `None` for what is neither: it names no one, and is answered like a wrong password.
    pub fn parse(input: &str) -> Option<Self> {
        if input.contains('@') {
            Email::parse(input).ok().map(|e| Self::Email(e.as_str().to_lowercase()))
        } else {
            Login::parse(input).ok().map(Self::Login)
        }
    }

    /// The form the store looks up and the throttle counts: one key per account name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Login(login) => login.as_str(),
            Self::Email(address) => address,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_and_addresses_are_folded_to_one_form() {
        assert_eq!(SignInName::parse("  Elodie.LeBoeuf ").unwrap().as_str(), "elodie.leboeuf");
        let address = SignInName::parse("Elodie.LeBoeuf@Example.EDU").unwrap();
        assert!(matches!(address, SignInName::Email(_)));
        assert_eq!(address.as_str(), "elodie.leboeuf@example.edu");
    }

    #[test]
    fn what_names_no_account_is_refused() {
        for input in ["", "   ", "élodie", "a b", "1abc", "x@", "@example.edu", "a@b@", &"a".repeat(65), "a\u{0}b"] {
            assert_eq!(SignInName::parse(input), None, "{input:?}");
        }
    }
}
