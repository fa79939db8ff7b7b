//! Account claim body and its validation.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::authorization::ExternalAuthorization;
use super::export::{Exports, validate_exports};
use super::generic::GenericFields;
use super::go_sort;
use super::import::{Imports, validate_imports};
use super::info::Info;
use super::json::{go_quote, is_zero};
use super::limits::{AccountLimits, NO_LIMIT, NatsLimits, OperatorLimits};
use super::mapping::{Mapping, validate_mappings};
use super::permissions::Permissions;
use super::signing_keys::SigningKeys;
use super::subject::{has_wildcards, validate_subject};
use super::validation::{ValidationResults, is_account_key};

/// Go's `All`: the revocation key that covers every user.
pub const REVOKE_ALL: &str = "*";

/// Public key (or `*`) → unix seconds; JWTs issued at or before the time are revoked.
pub type RevocationList = BTreeMap<String, i64>;

/// Go's `RevocationList.Revoke`: records `at` unless a later revocation already exists.
pub fn revoke(list: &mut RevocationList, key: impl Into<String>, at: i64) {
    let entry = list.entry(key.into()).or_insert(at);
    *entry = (*entry).max(at);
}

/// Go's `RevocationList.IsRevoked`: whether a JWT of `key` issued at `issued_at` is refused,
/// by a revocation of the key or of every user at or after that time.
pub fn is_revoked(list: &RevocationList, key: &str, issued_at: i64) -> bool {
    [key, REVOKE_ALL]
        .iter()
        .any(|k| list.get(*k).is_some_and(|at| *at >= issued_at))
}

/// Go's `MsgTrace`: where the server sends message traces for this account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgTrace {
    /// Trace destination subject (JSON `dest`), no wildcards.
    #[serde(rename = "dest", skip_serializing_if = "String::is_empty")]
    pub destination: String,
    /// Sampling percentage 1–100; 0 means 100.
    #[serde(skip_serializing_if = "is_zero")]
    pub sampling: i64,
}

/// Body of an account JWT (Go's `Account`), fields in Go order.
///
/// `Default` is Go's zero value (what decoding starts from: no limits at all, which the server
/// reads as "zero connections"); [`Account::new`] matches `NewAccountClaims`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Account {
    /// Imports, sorted by subject on encode.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub imports: Imports,
    /// Exports, sorted by subject on encode.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exports: Exports,
    /// Limits, always emitted.
    pub limits: OperatorLimits,
    /// Signing keys, plain or scoped.
    #[serde(skip_serializing_if = "SigningKeys::is_empty")]
    pub signing_keys: SigningKeys,
    /// Revoked users.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub revocations: RevocationList,
    /// Permissions of users that carry none, always emitted.
    pub default_permissions: Permissions,
    /// Subject mappings.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub mappings: Mapping,
    /// Auth callout settings, always emitted.
    pub authorization: ExternalAuthorization,
    /// Message tracing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<MsgTrace>,
    /// `system` or `owner`: which account is charged for cluster traffic.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster_traffic: String,
    /// Description and link.
    #[serde(flatten)]
    pub info: Info,
    /// Tags, type, version.
    #[serde(flatten)]
    pub generic: GenericFields,
    /// Unknown fields, kept for round trips and emitted last in key order.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Account {
    /// Like Go's `NewAccountClaims` body: NATS and account limits unlimited, wildcard exports
    /// allowed, JetStream disabled (all zero).
    pub fn new() -> Self {
        Account {
            limits: OperatorLimits {
                nats: NatsLimits::UNLIMITED,
                account: AccountLimits::UNLIMITED,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// Go's `Account.Validate` (with `account_key` the claim subject) followed by the
    /// self-signed warning of `AccountClaims.Validate` (`issuer`).
    pub fn validate(&self, account_key: &str, issuer: &str, vr: &mut ValidationResults) {
        validate_imports(&self.imports, account_key, vr);
        validate_exports(&self.exports, vr);
        self.limits.validate(vr);
        self.default_permissions.validate(vr);
        validate_mappings(&self.mappings, vr);
        self.authorization.validate(vr);
        if let Some(trace) = &self.trace {
            validate_trace(trace, vr);
        }
        self.validate_counts(vr);
        self.signing_keys.validate(vr);
        self.info.validate(vr);
        if !matches!(self.cluster_traffic.as_str(), "" | "system" | "owner") {
            vr.add_error(format!(
                "unknown cluster traffic option: {}",
                go_quote(&self.cluster_traffic)
            ));
        }
        if is_account_key(issuer) && !self.limits.is_empty() {
            vr.add_warning("self-signed account JWTs shouldn't contain operator limits");
        }
    }

    /// Import/export counts against the limits. Go checks the import count twice under
    /// slightly different conditions and so may report it twice; that is reproduced.
    fn validate_counts(&self, vr: &mut ValidationResults) {
        let limits = &self.limits.account;
        let too_many_imports = limits.imports >= 0 && self.imports.len() as i64 > limits.imports;
        if !self.limits.is_empty() && too_many_imports {
            vr.add_error("the account contains more imports than allowed by the operator");
        }
        if limits.imports != NO_LIMIT && self.imports.len() as i64 > limits.imports {
            vr.add_error("the account contains more imports than allowed by the operator");
        }
        if limits.exports == NO_LIMIT {
            return;
        }
        if self.exports.len() as i64 > limits.exports {
            vr.add_error("the account contains more exports than allowed by the operator");
        }
        if !limits.wildcard_exports {
            for _ in self.exports.iter().filter(|e| has_wildcards(&e.subject)) {
                vr.add_error(
                    "the account contains wildcard exports that are not allowed by the operator",
                );
            }
        }
    }

    /// Go's `EncodeWithSigner` ordering: exports and imports by subject, with Go's unstable
    /// `sort.Sort`, so entries sharing a subject land where Go puts them.
    pub(crate) fn sort(&mut self) {
        go_sort::sort(&mut self.exports, |a, b| a.subject < b.subject);
        go_sort::sort(&mut self.imports, |a, b| a.subject < b.subject);
    }
}

fn validate_trace(trace: &MsgTrace, vr: &mut ValidationResults) {
    let mut dest = ValidationResults::default();
    validate_subject(&trace.destination, &mut dest);
    if let Some(first) = dest.issues.first() {
        vr.add_error(format!(
            "the account Trace.Destination {}",
            first.description
        ));
    }
    if has_wildcards(&trace.destination) {
        vr.add_error(format!(
            "the account Trace.Destination subject {} is not a valid publish subject",
            go_quote(&trace.destination)
        ));
    }
    if !(0..=100).contains(&trace.sampling) {
        vr.add_error(format!(
            "the account Trace.Sampling value '{}' is not valid, should be in the range [1..100]",
            trace.sampling
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_is_revoked_at_or_before_its_keys_time_or_everyones() {
        let mut list = RevocationList::new();
        revoke(&mut list, "UA", 100);
        assert!(is_revoked(&list, "UA", 100));
        assert!(!is_revoked(&list, "UA", 101));
        assert!(!is_revoked(&list, "UB", 1));
        revoke(&mut list, REVOKE_ALL, 50);
        assert!(is_revoked(&list, "UB", 50));
        assert!(!is_revoked(&list, "UB", 51));
    }
    use crate::to_go_json;

    #[test]
    fn new_account_matches_go_constructor_output() {
        let json = String::from_utf8(to_go_json(&Account::new()).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"limits":{"subs":-1,"data":-1,"payload":-1,"imports":-1,"exports":-1,"wildcards":true,"conn":-1,"leaf":-1},"default_permissions":{"pub":{},"sub":{}},"authorization":{}}"#
        );
    }

    #[test]
    fn revoke_keeps_the_later_time() {
        let mut list = RevocationList::new();
        revoke(&mut list, "U", 10);
        revoke(&mut list, "U", 5);
        assert_eq!(list["U"], 10);
        revoke(&mut list, "U", 20);
        assert_eq!(list["U"], 20);
    }

    #[test]
    fn sort_of_a_few_entries_is_stable_for_equal_subjects() {
        let mut acc = Account::new();
        for (subject, account) in [("b", "1"), ("a", "2"), ("b", "3"), ("a", "4")] {
            acc.imports.push(super::super::import::Import {
                subject: subject.into(),
                account: account.into(),
                ..Default::default()
            });
        }
        acc.sort();
        let order: Vec<_> = acc.imports.iter().map(|i| i.account.as_str()).collect();
        assert_eq!(order, vec!["2", "4", "1", "3"]);
    }
}
