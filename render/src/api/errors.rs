//! The error type of offline validation.

use std::fmt;

/// One rule the API server would enforce that an object breaks.
///
/// Offline rendering never sees the API server's admission, so `validate()` reports the same
/// rules with the field path (`spec.rules`, `spec.signingKeyRefs[2].name`) the user has to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the offending field, starting at the object root (`spec.urlFrom`).
    pub path: String,
    /// The rule that failed, in words.
    pub rule: String,
}

impl FieldError {
    /// Pairs a path with the rule it breaks.
    pub fn new(path: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)
    }
}

impl std::error::Error for FieldError {}
