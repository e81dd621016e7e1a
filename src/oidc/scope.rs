//! The `scope` parameter (RFC 6749 §3.3): space-delimited, case-sensitive scope tokens, order
//! irrelevant. Parsed once into [`Scope`] so grants compare sets, not strings.

/// OIDC Core §11: asks for a refresh token that outlives the SSO session.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// A parsed scope: distinct tokens in the order first given. Stored inside a login transaction
/// as the JSON list of its tokens.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Scope(Vec<String>);

impl Scope {
    /// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, separated by spaces.
    pub fn parse(text: &str) -> Result<Scope, String> {
        let mut tokens: Vec<String> = Vec::new();
        for t in text.split(' ').filter(|t| !t.is_empty()) {
            let valid = t
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !valid {
                return Err("scope contains a character RFC 6749 §3.3 does not allow".into());
            }
            if !tokens.iter().any(|x| x == t) {
                tokens.push(t.to_owned());
            }
        }
        Ok(Scope(tokens))
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.iter().any(|t| t == token)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when every token of `self` is also in `other` (RFC 6749 §6: a refresh may narrow
    /// the scope, never widen it).
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.iter().all(|t| other.contains(t))
    }

    /// The same scope without `token`.
    pub fn without(&self, token: &str) -> Scope {
        Scope(self.0.iter().filter(|t| *t != token).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Distinct tokens in the order given (tokens already known to be valid, e.g. from
/// `scopes_supported`).
impl<'a> FromIterator<&'a str> for Scope {
    fn from_iter<I: IntoIterator<Item = &'a str>>(tokens: I) -> Scope {
        let mut out: Vec<String> = Vec::new();
        for t in tokens {
            if !out.iter().any(|x| x == t) {
                out.push(t.to_owned());
            }
        }
        Scope(out)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_compares() {
        let s = Scope::parse("openid  email openid profile").unwrap();
        assert_eq!(s.to_string(), "openid email profile");
        assert!(s.contains("email"));
        assert!(!s.contains("Email"));
        let narrow = Scope::parse("email openid").unwrap();
        assert!(narrow.is_subset_of(&s));
        assert!(!s.is_subset_of(&narrow));
        assert!(Scope::parse("").unwrap().is_empty());
        let offline = Scope::parse("openid offline_access email").unwrap();
        assert_eq!(offline.without(OFFLINE_ACCESS).to_string(), "openid email");
    }

    #[test]
    fn refuses_forbidden_characters() {
        assert!(Scope::parse("open\"id").is_err());
        assert!(Scope::parse("a\\b").is_err());
        assert!(Scope::parse("caf\u{e9}").is_err());
        assert!(Scope::parse("a\tb").is_err());
    }
}
