//! Seeds derived from one root secret, so identities are reproducible from git plus that secret.
//!
//! Derivation (stable; changing it would re-key every object rendered from a seed root):
//!
//! ```text
//! seed = HKDF-SHA256(
//!     ikm  = the root secret (the file's content, ASCII whitespace trimmed, at least 32 bytes),
//!     salt = "nauth-rs/seed-root/v1",
//!     info = role || 0x00 || namespace || 0x00 || name || 0x00 || generation (decimal),
//!     L    = 32)
//! ```
//!
//! The 32 bytes are the raw Ed25519 seed of an nkey of the role's type (`A` for the account
//! roles, `U` for users). Roles are `account-root`, `account-sign` (the implicit signing key of an
//! Account), `signing-key` (an AccountSigningKey) and `user`. `generation` comes from the
//! object's `nauth.io/key-generation` annotation (default 0); raising it rotates that one key.

use hkdf::Hkdf;
use nkeys::{KeyPair, KeyPairType};
use sha2::Sha256;

/// Minimum length of a root secret: 256 bits of input keying material.
pub const MIN_ROOT_LEN: usize = 32;

const SALT: &[u8] = b"nauth-rs/seed-root/v1";

/// What a derived key is for; part of the derivation input, so each role gets distinct keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The identity key of an Account (its public key is the account ID).
    AccountRoot,
    /// The implicit signing key every NAuth Account has.
    AccountSign,
    /// The key of an AccountSigningKey object.
    SigningKey,
    /// A User's key.
    User,
}

impl Role {
    fn label(self) -> &'static str {
        match self {
            Role::AccountRoot => "account-root",
            Role::AccountSign => "account-sign",
            Role::SigningKey => "signing-key",
            Role::User => "user",
        }
    }

    fn key_type(self) -> KeyPairType {
        match self {
            Role::User => KeyPairType::User,
            _ => KeyPairType::Account,
        }
    }
}

/// The root secret. Its bytes never leave this type: `Debug` prints nothing of them.
pub struct SeedRoot(Vec<u8>);

/// Why a root secret was refused.
#[derive(Debug, thiserror::Error)]
#[error("seed root must be at least {MIN_ROOT_LEN} bytes after trimming whitespace, got {0}")]
pub struct SeedRootTooShort(pub usize);

impl std::fmt::Debug for SeedRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeedRoot(..)")
    }
}

impl SeedRoot {
    /// Takes a root secret as stored in a file: surrounding whitespace (a trailing newline) is
    /// not part of it.
    pub fn new(content: &[u8]) -> Result<Self, SeedRootTooShort> {
        let trimmed = content.trim_ascii();
        if trimmed.len() < MIN_ROOT_LEN {
            return Err(SeedRootTooShort(trimmed.len()));
        }
        Ok(SeedRoot(trimmed.to_vec()))
    }

    /// Derives the key of `role` for the object `namespace/name` at `generation`.
    pub fn derive(&self, role: Role, namespace: &str, name: &str, generation: u64) -> KeyPair {
        let mut info = Vec::with_capacity(64);
        for part in [role.label(), namespace, name, &generation.to_string()] {
            if !info.is_empty() {
                info.push(0);
            }
            info.extend_from_slice(part.as_bytes());
        }
        let mut seed = [0u8; 32];
        Hkdf::<Sha256>::new(Some(SALT), &self.0)
            .expand(&info, &mut seed)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        KeyPair::new_from_raw(role.key_type(), seed).expect("any 32 bytes are an Ed25519 seed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> SeedRoot {
        SeedRoot::new(b"  0123456789abcdef0123456789abcdef\n").unwrap()
    }

    #[test]
    fn short_roots_are_refused_after_trimming() {
        let err = SeedRoot::new(b"   short secret                    \n").unwrap_err();
        assert_eq!(err.0, 12);
        assert!(err.to_string().contains("at least 32 bytes"));
    }

    #[test]
    fn derivation_is_stable_and_typed() {
        let a = root().derive(Role::AccountRoot, "team-a", "orders", 0);
        let again = root().derive(Role::AccountRoot, "team-a", "orders", 0);
        assert_eq!(a.public_key(), again.public_key());
        assert!(a.public_key().starts_with('A'));
        let u = root().derive(Role::User, "team-a", "orders", 0);
        assert!(u.public_key().starts_with('U'));
    }

    #[test]
    fn every_input_changes_the_key() {
        let base = root()
            .derive(Role::AccountRoot, "team-a", "orders", 0)
            .public_key();
        let variants = [
            root().derive(Role::AccountSign, "team-a", "orders", 0),
            root().derive(Role::SigningKey, "team-a", "orders", 0),
            root().derive(Role::AccountRoot, "team-b", "orders", 0),
            root().derive(Role::AccountRoot, "team-a", "billing", 0),
            root().derive(Role::AccountRoot, "team-a", "orders", 1),
            // The separator keeps ("a", "b-c") and ("a-b", "c") apart.
            root().derive(Role::AccountRoot, "team-a\0orders", "", 0),
        ];
        for v in variants {
            assert_ne!(v.public_key(), base);
        }
    }

    /// Pins the derivation so that a refactoring cannot silently re-key users' clusters.
    #[test]
    fn derivation_matches_the_documented_construction() {
        use hkdf::Hkdf;
        let mut expected = [0u8; 32];
        Hkdf::<Sha256>::new(
            Some(b"nauth-rs/seed-root/v1"),
            b"0123456789abcdef0123456789abcdef",
        )
        .expand(b"user\x00ns\x00alice\x003", &mut expected)
        .unwrap();
        let want = KeyPair::new_from_raw(KeyPairType::User, expected).unwrap();
        assert_eq!(
            root().derive(Role::User, "ns", "alice", 3).public_key(),
            want.public_key()
        );
    }

    #[test]
    fn debug_reveals_nothing() {
        assert_eq!(format!("{:?}", root()), "SeedRoot(..)");
    }
}
