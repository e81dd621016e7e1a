//! The ids that cross modules: a tenant's, a client's and a user's. Each is its own type, so a
//! user id cannot be handed to a function that wants a tenant id (they are all UUID-shaped
//! strings, and before these types a swapped pair of `&str` arguments compiled and simply found
//! nothing). They are stored, serialized and printed as the bare string, so the database,
//! `--json` output and the admin API read exactly what they read before.
//!
//! Each dereferences to `str`, so reading one (formatting it, building a key, comparing it to
//! a path segment) needs no ceremony; making one from a string is explicit (`From<String>`,
//! `from(&str)`), which is where the type says what the string is.

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id (UUID v4), for a new row.
            pub fn generate() -> $name {
                $name(uuid::Uuid::new_v4().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// `tenants.id` (not the slug, which is the tenant's name in URLs and on the CLI).
    TenantId
);

string_id!(
    /// `clients.id`: the OAuth `client_id`, unique across tenants.
    ClientId
);

string_id!(
    /// `users.id`: the `sub` of every token issued to the user.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_the_bare_string() {
        let id = UserId::from("u-1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"u-1\"");
        let back: UserId = serde_json::from_str("\"u-1\"").unwrap();
        assert_eq!(back, id);
        assert_eq!(id.to_string(), "u-1");
        assert!(id == "u-1");
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(TenantId::generate(), TenantId::generate());
    }
}
