//! The lock: the public state that must persist between renders so output stays byte-stable.
//!
//! Like `Cargo.lock`, it is committed next to the custom resources and holds no secrets: per
//! rendered JWT its subject, issuer, the hash of its normalized claims and its `iat`. When the
//! claims hash is unchanged the old `iat` is reused, so the JWT is byte-identical; when it
//! changed, `iat` moves strictly forward, because NATS servers keep whichever JWT has the newer
//! `iat` and would otherwise silently keep (or roll back to) old content.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The only lock format this version reads and writes.
pub const LOCK_VERSION: u32 = 1;

/// Everything the lock records, keyed by `namespace/name` so the file reads in a stable order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lock {
    /// Format version; see [`LOCK_VERSION`].
    pub version: u32,
    /// Account JWTs by Account `namespace/name`.
    #[serde(default)]
    pub accounts: BTreeMap<String, LockEntry>,
    /// User JWTs by User `namespace/name`.
    #[serde(default)]
    pub users: BTreeMap<String, LockEntry>,
    /// Public signing keys by owner (see [`owner`]): an Account's own signing key, an
    /// AccountSigningKey's key, a NatsCluster's operator signing key.
    #[serde(default)]
    pub signing_keys: BTreeMap<String, String>,
}

/// The key of an object in [`Lock::signing_keys`]: `Kind namespace/name`, as messages name it.
pub fn owner(kind: &str, namespace_name: &str) -> String {
    format!("{kind} {namespace_name}")
}

/// What is public and must persist about one rendered JWT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockEntry {
    /// The JWT subject: the account ID or the user's public key.
    pub public_key: String,
    /// The public key that signed the JWT.
    pub issuer: String,
    /// Lowercase hex SHA-256 of the claims with `iat` and `jti` blanked.
    pub claims_hash: String,
    /// The `iat` the JWT was signed with.
    pub issued_at: i64,
}

/// Why a lock file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Not YAML of the lock's shape.
    #[error("not a valid lock file: {0}")]
    Syntax(String),
    /// Written by a newer or older nauth-render.
    #[error("unsupported lock version {found} (this nauth-render reads version {LOCK_VERSION})")]
    Version {
        /// The version the file declares.
        found: u32,
    },
}

impl Lock {
    /// An empty lock of the current version, for a first render.
    pub fn new() -> Self {
        Lock {
            version: LOCK_VERSION,
            ..Lock::default()
        }
    }

    /// Reads a lock file's text.
    pub fn parse(text: &str) -> Result<Self, LockError> {
        let lock: Lock = serde_saphyr::from_str(text)
            .map_err(|e| LockError::Syntax(crate::input::yaml_error::message(&e)))?;
        if lock.version != LOCK_VERSION {
            return Err(LockError::Version {
                found: lock.version,
            });
        }
        Ok(lock)
    }

    /// The lock's file content: deterministic YAML with a header saying what the file is.
    pub fn to_yaml(&self) -> String {
        let body = serde_saphyr::to_string(self).expect("the lock serializes to YAML");
        format!(
            "# nauth-render lock file: public keys, claims hashes and issue times.\n\
             # Generated; commit it next to the custom resources. It holds no secrets.\n{body}"
        )
    }
}

/// The `iat` for a JWT whose normalized claims hash to `claims_hash`, given what the lock
/// recorded for it before and the render's epoch.
///
/// Unchanged claims keep their old `iat` (byte-identical output whatever the epoch). Changed
/// claims get `max(epoch, old iat + 1)`, so a NATS cluster always prefers the new JWT, even when
/// the epoch is behind the lock (a clock skew, or a pinned `SOURCE_DATE_EPOCH`).
pub fn issued_at(previous: Option<&LockEntry>, claims_hash: &str, epoch: i64) -> i64 {
    match previous {
        Some(prev) if prev.claims_hash == claims_hash => prev.issued_at,
        Some(prev) => epoch.max(prev.issued_at + 1),
        None => epoch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(hash: &str, iat: i64) -> LockEntry {
        LockEntry {
            public_key: "AAJCK7774DXTQZAFJLSQIVU76UHGXFZNJVWMT4F7PNRBCYM75LS75UYE".into(),
            issuer: "OD32J3IJ3TNSPNAG2MHKB7F77ETVXGUBYMGXQ2ONNJCKPM5RXO7XWTFD".into(),
            claims_hash: hash.into(),
            issued_at: iat,
        }
    }

    #[test]
    fn unchanged_claims_keep_their_iat_whatever_the_epoch() {
        assert_eq!(issued_at(Some(&entry("h1", 1000)), "h1", 99_999), 1000);
        assert_eq!(issued_at(Some(&entry("h1", 1000)), "h1", 10), 1000);
    }

    #[test]
    fn changed_claims_move_iat_strictly_forward() {
        assert_eq!(issued_at(Some(&entry("h1", 1000)), "h2", 5000), 5000);
        assert_eq!(issued_at(Some(&entry("h1", 1000)), "h2", 1000), 1001);
        assert_eq!(issued_at(Some(&entry("h1", 1000)), "h2", 10), 1001);
    }

    #[test]
    fn new_entries_take_the_epoch() {
        assert_eq!(issued_at(None, "h", 1234), 1234);
    }

    #[test]
    fn round_trips_through_yaml_in_key_order() {
        let mut lock = Lock::new();
        lock.accounts.insert("b/two".into(), entry("h2", 2));
        lock.accounts.insert("a/one".into(), entry("h1", 1));
        lock.signing_keys
            .insert(owner("Account", "a/one"), "AKEY".into());
        let text = lock.to_yaml();
        assert!(
            text.contains("signingKeys:\n  Account a/one: AKEY\n"),
            "{text}"
        );
        assert!(text.find("a/one").unwrap() < text.find("b/two").unwrap());
        assert!(text.contains("claimsHash: h1"));
        assert_eq!(Lock::parse(&text).unwrap(), lock);
    }

    #[test]
    fn refuses_other_versions_and_unknown_fields() {
        let err = Lock::parse("version: 7\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported lock version 7 (this nauth-render reads version 1)"
        );
        let err = Lock::parse("version: 1\nusers: {}\nextra: 1\n").unwrap_err();
        assert!(err.to_string().contains("extra"), "{err}");
    }
}
