//! The lock: the public state that must persist between renders so output stays byte-stable.
//!
//! Like `Cargo.lock`, it is committed next to the custom resources and holds no secrets: per
//! rendered JWT its subject, issuer, the hash of its normalized claims and its `iat`. When the
//! claims hash is unchanged the old `iat` is reused, so the JWT is byte-identical; when it
//! changed, `iat` moves strictly forward, because NATS servers keep whichever JWT has the newer
//! `iat` and would otherwise silently keep (or roll back to) old content. An Account that left
//! the inputs is kept as removed ([`RemovedAccount`]) until forgotten on purpose.

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
    /// Accounts that left the inputs, by `namespace/name`: kept until forgotten on purpose
    /// (`render --forget-removed`), so an Account added back with the same key gets its
    /// revocations back, and so render can keep emitting the request that deletes it from the
    /// resolver. Absent from locks without removed accounts (and from older locks).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub removed_accounts: BTreeMap<String, RemovedAccount>,
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
    /// An Account's automatic revocations (user public key → time), decided from the users it
    /// knew: kept for good, since a user JWT never expires by itself. Empty for a User.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub revocations: BTreeMap<String, i64>,
}

/// What the lock keeps of an Account that left the inputs: a tombstone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemovedAccount {
    /// The account ID it had.
    pub public_key: String,
    /// The operator key that signed its last JWT: the key that signs its deletion request.
    pub issuer: String,
    /// When it was found removed, after its last `iat`: the `iat` of its deletion request, so
    /// that request is byte-stable, and the floor of a JWT of it added back.
    pub removed_at: i64,
    /// Its revocations, with those of the users removed with it: a user JWT never expires by
    /// itself, so an Account added back with the same ID must refuse them again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub revocations: BTreeMap<String, i64>,
}

impl RemovedAccount {
    /// The tombstone of the Account whose last lock record was `entry`, found removed at
    /// `epoch`, with `revocations` (its own and its removed users').
    pub fn new(entry: &LockEntry, epoch: i64, revocations: BTreeMap<String, i64>) -> Self {
        RemovedAccount {
            public_key: entry.public_key.clone(),
            issuer: entry.issuer.clone(),
            removed_at: epoch.max(entry.issued_at + 1),
            revocations,
        }
    }

    /// The lock record an Account added back with the same ID continues from: its
    /// revocations, and an `iat` its next JWT must exceed (no claims hash matches it).
    pub fn as_previous(&self) -> LockEntry {
        LockEntry {
            public_key: self.public_key.clone(),
            issuer: self.issuer.clone(),
            claims_hash: String::new(),
            issued_at: self.removed_at,
            revocations: self.revocations.clone(),
        }
    }
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
        let lock = match written::parse(text) {
            Some(lock) => lock,
            None => serde_saphyr::from_str(text)
                .map_err(|e| LockError::Syntax(crate::input::yaml_error::message(&e)))?,
        };
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

/// Lock files exactly as [`Lock::to_yaml`] writes them, read line by line: the lock of a large
/// tree is megabytes of YAML (`diff` reads two), and a YAML parser takes longer over it than
/// the rest of a `diff` takes over an object. Anything else (another style, quoting, comments
/// below the header, a value that is not a public key, hash or time) is left to the parser.
mod written {
    use std::collections::BTreeMap;
    use std::iter::Peekable;
    use std::str::Lines;

    use super::{Lock, LockEntry, RemovedAccount};

    /// The lock `text` holds, or `None` when it is not in the written form.
    pub(super) fn parse(text: &str) -> Option<Lock> {
        let mut lines = text.lines().peekable();
        while lines.next_if(|l| l.starts_with('#')).is_some() {}
        let version = lines.next()?.strip_prefix("version: ")?;
        let lock = Lock {
            version: integer(version)?,
            accounts: entries(&mut lines, "accounts")?,
            users: entries(&mut lines, "users")?,
            signing_keys: signing_keys(&mut lines)?,
            removed_accounts: removed_accounts(&mut lines)?,
        };
        lines.next().is_none().then_some(lock)
    }

    /// Whether the section `name` starts here: `Some(true)` when it is written empty (`{}`).
    fn section(lines: &mut Peekable<Lines>, name: &str) -> Option<bool> {
        match lines.next()?.strip_prefix(name)? {
            ":" => Some(false),
            ": {}" => Some(true),
            _ => None,
        }
    }

    /// The keys of one section: `  key:` lines (or `  key: value` ones), one at least.
    fn keys<'t>(
        lines: &mut Peekable<Lines<'t>>,
        mut each: impl FnMut(&mut Peekable<Lines<'t>>, &'t str) -> Option<()>,
    ) -> Option<()> {
        let mut any = false;
        while let Some(line) = lines.next_if(|l| l.starts_with("  ") && !l.starts_with("   ")) {
            each(lines, &line[2..])?;
            any = true;
        }
        any.then_some(())
    }

    fn entries(lines: &mut Peekable<Lines>, name: &str) -> Option<BTreeMap<String, LockEntry>> {
        let mut map = BTreeMap::new();
        if section(lines, name)? {
            return Some(map);
        }
        keys(lines, |lines, line| {
            let key = object(line.strip_suffix(':')?)?;
            let mut field = |name: &str| field(lines, name);
            let entry = LockEntry {
                public_key: public_key(field("publicKey")?)?,
                issuer: public_key(field("issuer")?)?,
                claims_hash: hash(field("claimsHash")?)?,
                issued_at: integer(field("issuedAt")?)?,
                revocations: revocations(lines)?,
            };
            map.insert(key.to_string(), entry).is_none().then_some(())
        })?;
        Some(map)
    }

    /// The value of the entry field `name` on the next line.
    fn field<'t>(lines: &mut Peekable<Lines<'t>>, name: &str) -> Option<&'t str> {
        let line = lines.next()?.strip_prefix("    ")?.strip_prefix(name)?;
        line.strip_prefix(": ")
    }

    /// The optional `removedAccounts:` section (never written empty).
    fn removed_accounts(lines: &mut Peekable<Lines>) -> Option<BTreeMap<String, RemovedAccount>> {
        let mut map = BTreeMap::new();
        if lines.next_if_eq(&"removedAccounts:").is_none() {
            return Some(map);
        }
        keys(lines, |lines, line| {
            let key = object(line.strip_suffix(':')?)?;
            let mut field = |name: &str| field(lines, name);
            let removed = RemovedAccount {
                public_key: public_key(field("publicKey")?)?,
                issuer: public_key(field("issuer")?)?,
                removed_at: integer(field("removedAt")?)?,
                revocations: revocations(lines)?,
            };
            map.insert(key.to_string(), removed).is_none().then_some(())
        })?;
        Some(map)
    }

    /// An entry's optional `revocations:` map of public keys to times.
    fn revocations(lines: &mut Peekable<Lines>) -> Option<BTreeMap<String, i64>> {
        let mut map = BTreeMap::new();
        if lines.next_if_eq(&"    revocations:").is_none() {
            return Some(map);
        }
        while let Some(line) = lines.next_if(|l| l.starts_with("      ")) {
            let (key, at) = line[6..].split_once(": ")?;
            map.insert(public_key(key)?, integer(at)?);
        }
        (!map.is_empty()).then_some(map)
    }

    fn signing_keys(lines: &mut Peekable<Lines>) -> Option<BTreeMap<String, String>> {
        let mut map = BTreeMap::new();
        if section(lines, "signingKeys")? {
            return Some(map);
        }
        keys(lines, |_, line| {
            let (owner, key) = line.split_once(": ")?;
            let (kind, name) = owner.split_once(' ')?;
            if !kind.bytes().all(|b| b.is_ascii_alphabetic()) {
                return None;
            }
            // The stand-in of NAuth's NATS_URL mode has a name no real object can have.
            let stand_in = name
                .strip_suffix(crate::input::nats_url::STAND_IN_NAME)
                .and_then(|ns| ns.strip_suffix('/'));
            if object(name).is_none() {
                object(&format!("{}/x", stand_in?))?;
            }
            let key = public_key(key)?;
            map.insert(owner.to_string(), key).is_none().then_some(())
        })?;
        Some(map)
    }

    /// `namespace/name` of DNS-1123 names, which YAML reads as the same plain string.
    fn object(key: &str) -> Option<&str> {
        let dns = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.';
        let (namespace, name) = key.split_once('/')?;
        let fine = |s: &str| s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        (fine(namespace) && fine(name) && namespace.bytes().chain(name.bytes()).all(dns))
            .then_some(key)
    }

    /// An nkey public key: 56 base32 characters, never a YAML number, boolean or null.
    fn public_key(value: &str) -> Option<String> {
        let base32 = |b: u8| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b);
        (value.len() == 56 && value.bytes().all(base32)).then(|| value.to_string())
    }

    /// 64 lowercase hex digits with a letter that no YAML number has (not only digits and `e`).
    fn hash(value: &str) -> Option<String> {
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        let letter = |b: u8| (b'a'..=b'f').contains(&b) && b != b'e';
        (value.len() == 64 && value.bytes().all(hex) && value.bytes().any(letter))
            .then(|| value.to_string())
    }

    /// An integer written as Rust writes it (no `+`, leading zero or other base to interpret).
    fn integer<T: std::str::FromStr + ToString>(value: &str) -> Option<T> {
        let n: T = value.parse().ok()?;
        (n.to_string() == value).then_some(n)
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
            revocations: BTreeMap::new(),
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
    fn a_written_lock_reads_as_the_yaml_parser_reads_it() {
        let mut lock = Lock::new();
        let key = |c: char| format!("A{}", c.to_string().repeat(55));
        let mut revoking = entry(&"ab12".repeat(16), 2);
        revoking.revocations = BTreeMap::from([(key('U'), 1_700_000_000), (key('V'), -3)]);
        lock.accounts.insert("b/two".into(), revoking);
        lock.accounts
            .insert("a.b/one-1".into(), entry(&"9f".repeat(32), -1));
        lock.users
            .insert("a/u".into(), entry(&"0c".repeat(32), 1_800_000_000));
        lock.signing_keys
            .insert(owner("Account", "a/one"), key('B'));
        lock.signing_keys
            .insert(owner("NatsCluster", "nats/nats"), key('C'));
        // The stand-in of NAuth's NATS_URL mode (input::nats_url).
        lock.signing_keys
            .insert(owner("NatsCluster", "nats/NATS_URL"), key('D'));
        let mut removed = lock.clone();
        let gone = RemovedAccount::new(&entry(&"ab12".repeat(16), 5), 3, revoking_keys(&key));
        removed.removed_accounts.insert("c/gone".into(), gone);
        let mut bare = RemovedAccount::new(&entry(&"ab12".repeat(16), 5), 9, BTreeMap::new());
        bare.public_key = key('E');
        removed.removed_accounts.insert("c/bare".into(), bare);
        let empty = Lock::new();
        for lock in [lock, removed, empty] {
            let text = lock.to_yaml();
            assert_eq!(written::parse(&text).as_ref(), Some(&lock), "{text}");
            let parsed: Lock = serde_saphyr::from_str(&text).unwrap();
            assert_eq!(parsed, lock);
        }
    }

    fn revoking_keys(key: &dyn Fn(char) -> String) -> BTreeMap<String, i64> {
        BTreeMap::from([(key('U'), 4), (key('W'), 5)])
    }

    #[test]
    fn a_removed_account_is_deleted_after_its_last_jwt_and_continues_from_there() {
        let revoked = BTreeMap::from([("UA".to_string(), 4)]);
        let gone = RemovedAccount::new(&entry("h", 1000), 500, revoked.clone());
        assert_eq!(
            gone.removed_at, 1001,
            "the deletion request is newer than the JWT"
        );
        assert_eq!(
            RemovedAccount::new(&entry("h", 1000), 2000, revoked.clone()).removed_at,
            2000
        );
        let previous = gone.as_previous();
        assert_eq!(previous.revocations, revoked);
        assert_eq!(previous.public_key, gone.public_key);
        // Whatever the claims of the Account added back, its JWT is newer than the request.
        assert_eq!(issued_at(Some(&previous), "h", 10), 1002);
    }

    #[test]
    fn a_lock_without_removed_accounts_writes_no_section_and_older_locks_read() {
        let text = Lock::new().to_yaml();
        assert!(!text.contains("removedAccounts"), "{text}");
        let older = "version: 1\naccounts: {}\nusers: {}\nsigningKeys: {}\n";
        assert_eq!(Lock::parse(older).unwrap(), Lock::new());
    }

    #[test]
    fn other_lock_texts_are_left_to_the_yaml_parser() {
        let text = Lock::new().to_yaml();
        let (key, hash) = ("A".repeat(56), "ab".repeat(32));
        let entry = format!(
            "  a/b:\n    publicKey: {key}\n    issuer: {key}\n    claimsHash: {hash}\n    \
             issuedAt: 1\n"
        );
        let written = text.replace("users: {}\n", &format!("users:\n{entry}"));
        assert!(written::parse(&written).is_some(), "{written}");
        for other in [
            written
                .replace("publicKey: A", "publicKey: 'A")
                .replace("AAAA\n    issuer", "AAAA'\n    issuer"),
            written.replace("issuedAt: 1", "issuedAt: 01"),
            written.replace("issuedAt: 1", "issuedAt: 1 # comment"),
            written.replace(&hash, &"1".repeat(64)),
            written.replace("a/b:", "A/b:"),
            written.replace("users:\n", "users: # comment\n"),
            written.replace("version: 1", "version: 1\nextra: 1"),
            written.replace(
                "issuedAt: 1\n",
                &format!("issuedAt: 1\n    revocations:\n      '{key}': 1\n"),
            ),
            written.replace("issuedAt: 1\n", "issuedAt: 1\n    revocations: {}\n"),
            format!("{written}  c/d:\n"),
            "version: 1\nusers: {a/b: {publicKey: X, issuer: Y, claimsHash: Z, issuedAt: 1}}\n"
                .to_string(),
        ] {
            assert_eq!(written::parse(&other), None, "{other}");
            let yaml = serde_saphyr::from_str::<Lock>(&other).map_err(|e| e.to_string());
            let parsed = Lock::parse(&other).map_err(|e| e.to_string());
            assert_eq!(parsed.is_ok(), yaml.is_ok(), "{other}");
            if let (Ok(parsed), Ok(yaml)) = (parsed, yaml) {
                assert_eq!(parsed, yaml);
            }
        }
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
