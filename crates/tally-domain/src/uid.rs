//! DHIS2 UIDs: 11 characters, a letter first, then letters or digits.
//!
//! A [`Uid`] is stored inline (11 ASCII bytes, `Copy`), so maps keyed by UID never
//! allocate per key.

use std::fmt;
use std::str::FromStr;

/// Length of every DHIS2 UID.
pub const UID_LEN: usize = 11;

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A valid DHIS2 identifier such as `DiszpKrYNg8`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid([u8; UID_LEN]);

/// Why a string is not a UID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UidError {
    #[error("UID must be {UID_LEN} characters long, got {0}")]
    Length(usize),
    #[error("UID must start with a letter")]
    FirstNotLetter,
    #[error("UID may contain only letters and digits")]
    NotAlphanumeric,
}

impl Uid {
    /// Parses and validates a UID.
    ///
    /// # Errors
    /// [`UidError`] when the length or the character classes are wrong.
    pub fn parse(s: &str) -> Result<Self, UidError> {
        let b = s.as_bytes();
        if b.len() != UID_LEN {
            return Err(UidError::Length(s.chars().count()));
        }
        if !b[0].is_ascii_alphabetic() {
            return Err(UidError::FirstNotLetter);
        }
        if !b.iter().all(u8::is_ascii_alphanumeric) {
            return Err(UidError::NotAlphanumeric);
        }
        let mut out = [0u8; UID_LEN];
        out.copy_from_slice(b);
        Ok(Uid(out))
    }

    /// True when `s` has UID syntax.
    #[must_use]
    pub fn is_valid(s: &str) -> bool {
        Self::parse(s).is_ok()
    }

    /// Generates a UID from a source of random numbers. The source is injected so tests
    /// are deterministic; production passes a real random generator.
    pub fn generate(mut random: impl FnMut() -> u64) -> Self {
        let mut out = [0u8; UID_LEN];
        out[0] = LETTERS[(random() % LETTERS.len() as u64) as usize];
        for slot in &mut out[1..] {
            *slot = ALPHANUMERIC[(random() % ALPHANUMERIC.len() as u64) as usize];
        }
        Uid(out)
    }

    /// The UID as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored, so this never fails.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for Uid {
    type Err = UidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uid({})", self.as_str())
    }
}

impl serde::Serialize for Uid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Uid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Uid::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_real_uids() {
        for s in ["DiszpKrYNg8", "bjDvmb4bfuf", "HllvX50cXC0", "a0000000000"] {
            assert_eq!(Uid::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn rejects_bad_uids() {
        assert_eq!(Uid::parse("DiszpKrYNg"), Err(UidError::Length(10)));
        assert_eq!(Uid::parse("DiszpKrYNg89"), Err(UidError::Length(12)));
        assert_eq!(Uid::parse("1iszpKrYNg8"), Err(UidError::FirstNotLetter));
        assert_eq!(Uid::parse("Disz-KrYNg8"), Err(UidError::NotAlphanumeric));
        assert_eq!(Uid::parse("Diszp KrYNg"), Err(UidError::NotAlphanumeric));
        assert_eq!(Uid::parse("Dïszp KrYN"), Err(UidError::NotAlphanumeric));
        assert!(Uid::parse("").is_err());
    }

    #[test]
    fn generation_is_deterministic_for_a_seeded_source() {
        let mut n = 0u64;
        let a = Uid::generate(|| {
            n += 7;
            n
        });
        let mut m = 0u64;
        let b = Uid::generate(|| {
            m += 7;
            m
        });
        assert_eq!(a, b);
        assert!(Uid::is_valid(a.as_str()));
    }

    proptest! {
        #[test]
        fn generated_uids_are_valid(seed in any::<u64>()) {
            let mut x = seed | 1;
            let uid = Uid::generate(|| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x });
            prop_assert!(Uid::is_valid(uid.as_str()));
            prop_assert_eq!(Uid::parse(uid.as_str()).unwrap(), uid);
        }
    }
}
