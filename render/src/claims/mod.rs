//! NAuth's mapping from custom resources to NATS claims, plus the JWT v2 features NAuth lacks.
//!
//! These functions take objects whose references are already resolved (account IDs, signing
//! keys, adopted export and import groups) and decide every byte of the claims; they do no
//! lookups themselves, so the CLI and the controller get the same answer from the same inputs.

mod account;
mod adoption;
mod convert;
mod user;

pub use account::{AccountInput, AccountRendering, SigningKeyEntry, account_claims};
pub use adoption::{Adoption, GroupOutcome, RuleGroup};
pub(crate) use convert::user_limits;
pub use convert::{export_rule, import_rule, inline_export};
pub use user::{UserInput, user_claims};

use crate::jwt::ValidationResults;

/// Why claims could not be built: the rule that was broken, and where, when known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ClaimsError {
    /// The field path inside the object (`spec.exports`), when the rule concerns one field.
    pub field: Option<String>,
    /// What is wrong, in nats-io/jwt's or NAuth's words where users know them.
    pub message: String,
}

impl ClaimsError {
    pub(crate) fn new(field: Option<&str>, message: impl Into<String>) -> Self {
        ClaimsError {
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

/// The blocking validation errors of `vr` as one message, or `None` when there are none.
/// Time checks (an `exp` in the past) do not block, as in NAuth.
pub(crate) fn blocking_errors(vr: &ValidationResults) -> Option<String> {
    vr.is_blocking(false).then(|| vr.errors().join("; "))
}

#[cfg(test)]
mod approvals;
