//! Why a key could not be had, typed, because callers act differently on each: the controller
//! generates a key no source holds, but must stop (and overwrite nothing) when a source holds
//! something wrong.

use std::fmt;

use crate::diagnostic::Code;

/// What went wrong with a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyErrorKind {
    /// No source holds the key. A controller may generate the account, signing or user key and
    /// store it (render never does); an operator signing key is never generated.
    Missing,
    /// A source holds something unusable: a Secret without the seed or with the wrong kind of
    /// seed, a key whose public key is not the recorded ID, a bad annotation. Nothing may be
    /// generated in its place: that would change an identity.
    Broken,
    /// A Secret of the expected name exists but belongs to someone else (NAuth's `Conflict`):
    /// neither used nor overwritten.
    Conflict,
}

/// A key that could not be had, with a message naming Secrets and public keys, never seeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyError {
    /// Missing, broken or someone else's.
    pub kind: KeyErrorKind,
    /// What was searched or found, for a person: true wherever keys come from.
    pub message: String,
    /// A remedy that only applies where a seed root can be given (`--seed-root` of the CLI);
    /// a caller without one (the controller) leaves it out.
    pub hint: Option<String>,
}

impl KeyError {
    /// No source holds the key.
    pub fn missing(message: impl Into<String>) -> Self {
        Self::new(KeyErrorKind::Missing, message)
    }

    /// A source holds something unusable.
    pub fn broken(message: impl Into<String>) -> Self {
        Self::new(KeyErrorKind::Broken, message)
    }

    /// A Secret in the way belongs to another owner.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(KeyErrorKind::Conflict, message)
    }

    fn new(kind: KeyErrorKind, message: impl Into<String>) -> Self {
        KeyError {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds the seed-root remedy (see [`KeyError::hint`]).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether no source holds the key (as opposed to a source holding a bad one).
    pub fn is_missing(&self) -> bool {
        self.kind == KeyErrorKind::Missing
    }

    /// The diagnostic code of this error.
    pub fn code(&self) -> Code {
        match self.kind {
            KeyErrorKind::Missing => Code::MissingKey,
            KeyErrorKind::Broken => Code::InvalidKey,
            KeyErrorKind::Conflict => Code::Conflict,
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match &self.hint {
            Some(hint) => write!(f, "; {hint}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for KeyError {}
