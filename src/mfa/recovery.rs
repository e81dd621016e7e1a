//! Recovery codes: 60 random bits each (12 base32 characters, shown as `xxxx-xxxx-xxxx`),
//! displayed once, stored as an HMAC under the server secret (a leaked table cannot be brute
//! forced offline), single use.

use crate::crypto::secret::ServerSecret;

const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789"; // 32 symbols, no 0/o/1/l

pub fn generate(count: usize) -> Vec<String> {
    (0..count)
        .map(|_| {
            let mut b = [0u8; 12];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
            let s: String = b
                .iter()
                .map(|x| ALPHABET[(x & 31) as usize] as char)
                .collect();
            format!("{}-{}-{}", &s[0..4], &s[4..8], &s[8..12])
        })
        .collect()
}

/// The canonical form: lowercase, without separators or spaces.
pub fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub fn hash(secret: &ServerSecret, code: &str) -> String {
    secret.mac("recovery-code", &normalize(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_normalised() {
        let codes = generate(10);
        assert_eq!(codes.len(), 10);
        let mut u = codes.clone();
        u.sort();
        u.dedup();
        assert_eq!(u.len(), 10);
        assert_eq!(codes[0].len(), 14);
        // 12 symbols of 5 bits = 60 bits ≥ 50.
        assert_eq!(normalize(&codes[0]).len(), 12);
        assert_eq!(normalize(" ABCD-efgh-JKMN "), "abcdefghjkmn");
    }
}
