//! Personal access tokens, as DHIS2 2.41 issues them (`ApiTokenType` v1):
//! `d2pat_` + 32 random alphanumerics + the CRC32 of those 38 characters as 10 decimal
//! digits. Only a SHA-256 digest of the key is stored; the key itself is shown once, in
//! the answer to its creation.

use rand::Rng as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tally_domain::uid::Uid;

/// Prefix of v1 keys.
pub const PREFIX: &str = "d2pat_";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 10;
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A stored token (the JSON body of an `apiTokens` metadata object).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    pub id: Uid,
    /// The user the token acts as.
    pub owner: Uid,
    /// Hex SHA-256 of the key.
    pub key_hash: String,
    pub created_ms: i64,
    /// Expiry instant, epoch milliseconds; `None`: never.
    #[serde(default)]
    pub expire_ms: Option<i64>,
}

impl TokenRecord {
    /// Whether the token is still valid at `now_ms`.
    #[must_use]
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.expire_ms.is_none_or(|e| now_ms < e)
    }
}

fn checksum(body: &str) -> String {
    format!(
        "{:0width$}",
        crc32fast::hash(body.as_bytes()),
        width = CHECKSUM_LEN
    )
}

/// A new random key (thread RNG: a CSPRNG seeded by the OS).
#[must_use]
pub fn generate_key() -> String {
    let mut rng = rand::rng();
    let mut body = String::with_capacity(PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN);
    body.push_str(PREFIX);
    for _ in 0..RANDOM_LEN {
        body.push(char::from(
            ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())],
        ));
    }
    let sum = checksum(&body);
    body.push_str(&sum);
    body
}

/// Whether `key` has the v1 shape and a matching checksum (checked before any lookup, so
/// typos and random probes cost nothing).
#[must_use]
pub fn is_well_formed(key: &str) -> bool {
    let expected = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
    if key.len() != expected || !key.starts_with(PREFIX) || !key.is_ascii() {
        return false;
    }
    let (body, sum) = key.split_at(PREFIX.len() + RANDOM_LEN);
    body[PREFIX.len()..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric())
        && checksum(body) == sum
}

/// Hex SHA-256 of a key or session id: what is stored and compared.
#[must_use]
pub fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_dhis2s_shape_and_checksum() {
        let key = generate_key();
        assert_eq!(key.len(), 48);
        assert!(key.starts_with("d2pat_"));
        assert!(is_well_formed(&key));
        let mut broken = key.clone().into_bytes();
        broken[10] = if broken[10] == b'a' { b'b' } else { b'a' };
        assert!(!is_well_formed(std::str::from_utf8(&broken).unwrap()));
        assert!(!is_well_formed("d2pat_short"));
        assert_ne!(generate_key(), key);
    }

    #[test]
    fn digests_are_hex_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn expiry() {
        let t = TokenRecord {
            id: Uid::parse("xE7jOejl9FI").unwrap(),
            owner: Uid::parse("xE7jOejl9FI").unwrap(),
            key_hash: String::new(),
            created_ms: 0,
            expire_ms: Some(100),
        };
        assert!(t.is_live(99) && !t.is_live(100));
        assert!(
            TokenRecord {
                expire_ms: None,
                ..t
            }
            .is_live(i64::MAX)
        );
    }
}
