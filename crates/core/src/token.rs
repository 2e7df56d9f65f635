//! API token format and hashing. Tokens are high-entropy, so one SHA-256 is the right hash.

use sha2::{Digest, Sha256};

pub const PREFIX: &str = "fbk_";

/// Builds the clear-text token from 32 random bytes supplied by the caller.
pub fn format_token(random: &[u8; 32]) -> String {
    format!("{PREFIX}{}", hex::encode(random))
}

/// The stored form of a token; the clear text is shown once and never kept.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Read, write, admin: each scope includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    pub fn allows(self, needed: Scope) -> bool {
        self >= needed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest() {
        let table = [
            (Scope::Read, Scope::Read, true),
            (Scope::Read, Scope::Write, false),
            (Scope::Write, Scope::Read, true),
            (Scope::Write, Scope::Admin, false),
            (Scope::Admin, Scope::Write, true),
        ];
        for (held, needed, expected) in table {
            assert_eq!(held.allows(needed), expected, "{held:?} allows {needed:?}");
        }
    }

    #[test]
    fn token_hash_is_stable_and_prefixed() {
        let token = format_token(&[7u8; 32]);
        assert!(token.starts_with("fbk_"));
        assert_eq!(token.len(), 4 + 64);
        assert_eq!(hash_token(&token), hash_token(&token));
        assert_ne!(hash_token(&token), hash_token("fbk_other"));
    }
}
