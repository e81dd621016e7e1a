//! What a new password must be (NIST SP 800-63B §5.1.1.2): 8 to 256 characters, not on a list of
//! passwords known from breaches, and not easy to guess by a strength estimate. No composition
//! rules ("one digit, one symbol"): they make passwords harder to remember, not to guess.
//!
//! The list (`common-passwords.txt`, compiled in) is every password of 8 or more characters
//! among the 200,000 most common of the SecLists "10 million passwords" corpus (MIT licence),
//! lowercased and sorted, so a lookup is a binary search on the embedded text. The estimator is
//! `zxcvbn`, which also knows dictionary words, keyboard walks, dates and repeats, and is told
//! the account's own email and name so that a password made of them counts as weak.
//!
//! Applied where a user chooses a password (registration, reset, change); an admin's
//! `user create` is the admin's choice and is not judged here.

use std::sync::LazyLock;

use zxcvbn::Score;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 256;
/// zxcvbn's "more than 10^10 guesses": safe against an online attack by far, and expensive
/// offline against argon2id.
const MIN_SCORE: Score = Score::Three;

const COMMON: &str = include_str!("common-passwords.txt");

static LIST: LazyLock<Vec<&'static str>> = LazyLock::new(|| COMMON.lines().collect());

/// Why a password is refused; its `Display` is the sentence shown next to the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Weak {
    #[error("Use at least {MIN_CHARS} characters.")]
    TooShort,
    #[error("Use at most {MAX_CHARS} characters.")]
    TooLong,
    #[error(
        "This password appears in lists of passwords leaked from other sites, so attackers try \
         it first. Choose another."
    )]
    Breached,
    #[error("This password is too easy to guess{}. Add more words or characters that are not \
             a pattern.", .0.as_deref().map(|w| format!(": {w}")).unwrap_or_default())]
    Guessable(Option<String>),
}

/// Whether the password is on the compiled-in list (compared lowercased, as the list is).
pub fn is_common(password: &str) -> bool {
    LIST.binary_search(&password.to_lowercase().as_str())
        .is_ok()
}

/// Checks a password a user chose. `context`: the account's own words (email, its local part,
/// name), which make a password weak when it is built from them.
pub fn check(password: &str, context: &[&str]) -> Result<(), Weak> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(Weak::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(Weak::TooLong);
    }
    if is_common(password) {
        return Err(Weak::Breached);
    }
    let mut inputs: Vec<&str> = context.iter().copied().filter(|s| !s.is_empty()).collect();
    let locals: Vec<&str> = context
        .iter()
        .filter_map(|s| s.split_once('@').map(|(l, _)| l))
        .collect();
    inputs.extend(locals);
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let warning = estimate
        .feedback()
        .and_then(|f| f.warning())
        .map(|w| w.to_string().trim_end_matches('.').to_lowercase());
    Err(Weak::Guessable(warning))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_lowercase_and_loaded() {
        assert!(LIST.len() > 50_000);
        assert!(
            LIST.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        assert!(LIST.iter().all(|p| p.chars().count() >= MIN_CHARS));
    }

    #[test]
    fn common_and_breached_passwords_are_refused_whatever_their_case() {
        for p in [
            "password1",
            "PASSWORD1",
            "iloveyou",
            "12345678",
            "qwertyuiop",
        ] {
            assert_eq!(check(p, &[]), Err(Weak::Breached), "{p}");
        }
    }

    #[test]
    fn length_is_bounded_in_characters_not_bytes() {
        assert_eq!(check("Ab1!", &[]), Err(Weak::TooShort));
        assert_eq!(check(&"x".repeat(257), &[]), Err(Weak::TooLong));
        // Eight characters of four bytes each are eight characters.
        assert_ne!(check("🐙🦑🐳🐬🦈🐟🐠🐡", &[]), Err(Weak::TooShort));
    }

    #[test]
    fn guessable_passwords_say_why() {
        let err = check("qqqqqqqqqqqqqqqqq", &[]).unwrap_err();
        assert!(matches!(err, Weak::Guessable(Some(_))), "{err:?}");
        assert!(err.to_string().contains("repeats"), "{err}");
    }

    #[test]
    fn the_accounts_own_words_make_it_weak() {
        let p = "alice.liddell1865";
        assert!(check(p, &["alice.liddell@example.com"]).is_err());
    }

    #[test]
    fn long_uncommon_passphrases_pass() {
        for p in [
            "correct horse battery staple",
            "violet-quarry-88-sunlit",
            "Tr0ub4dor&3-mistaken",
        ] {
            assert_eq!(check(p, &["alice@example.com", "Alice"]), Ok(()), "{p}");
        }
    }
}
