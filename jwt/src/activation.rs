//! Activation claim body: grants one account an import of a token-required export.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::export::ExportType;
use super::generic::GenericFields;
use super::json::go_quote;
use super::subject::validate_subject;
use super::validation::{ValidationResults, is_account_key};

/// Body of an activation JWT (Go's `Activation`). `sub` of the claim is the importing account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Activation {
    /// The exported subject being granted (JSON `subject`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Stream or service (JSON `kind`).
    #[serde(skip_serializing_if = "ExportType::is_unknown")]
    pub kind: ExportType,
    /// The exporting account when a signing key issued the activation.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub issuer_account: String,
    /// Tags, type, version.
    #[serde(flatten)]
    pub generic: GenericFields,
    /// Unknown fields, kept for round trips and emitted last in key order.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Activation {
    /// Go's `Activation.Validate` plus the `issuer_account` check of `ActivationClaims`.
    pub fn validate(&self, vr: &mut ValidationResults) {
        if self.kind == ExportType::Unknown {
            vr.add_error(format!(
                "invalid import type: {}",
                go_quote(&self.kind.to_string())
            ));
        }
        validate_subject(&self.subject, vr);
        if !self.issuer_account.is_empty() && !is_account_key(&self.issuer_account) {
            vr.add_error("account_id is not an account public key");
        }
    }
}
