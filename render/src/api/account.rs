//! `Account`: a NATS account, its limits, exports, imports and trusted signing keys.

use std::collections::{BTreeMap, BTreeSet};

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::limits::tiered_limits_schema;
use super::{
    AccountLimits, AccountSigningKeyRef, Export, FieldError, Import, JetStreamLimits,
    NatsClusterRef, NatsLimits, Permissions, ReconcileStatus, check,
};

/// Desired state of an Account. Everything is optional, as in NAuth.
#[allow(
    clippy::duplicated_attributes,
    reason = "each kube printcolumn repeats `type_ = \"string\"`"
)]
#[derive(CustomResource, JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(remote = "Self")]
#[kube(
    group = "nauth.io",
    version = "v1alpha1",
    kind = "Account",
    namespaced,
    status = "AccountStatus",
    derive = "PartialEq",
    doc = "A NATS account rendered into an account JWT signed by the operator.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].reason"#
    )
)]
#[serde(rename_all = "camelCase")]
pub struct AccountSpec {
    /// NatsCluster the account lives in; the operator-wide default applies when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_cluster_ref: Option<NatsClusterRef>,
    /// JWT `name`; `<namespace>/<name>` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Enables or disables JetStream explicitly; derived from the limits when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jet_stream_enabled: Option<bool>,
    /// Account-wide limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_limits: Option<AccountLimits>,
    /// Untiered JetStream limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jet_stream_limits: Option<JetStreamLimits>,
    /// Per-connection message limits of the account's users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_limits: Option<NatsLimits>,
    /// Inline exports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exports: Option<Vec<Export>>,
    /// Inline imports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imports: Option<Vec<Import>>,
    /// AccountSigningKeys whose public keys the account trusts besides its implicit signing key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 64),
        extend(
            "x-kubernetes-list-type" = "map",
            "x-kubernetes-list-map-keys" = ["kind", "namespace", "name"]
        )
    )]
    pub signing_key_refs: Option<Vec<AccountSigningKeyRef>>,
    /// JetStream limits per tier (JWT `tiered_limits`, e.g. `R1`, `R3`); a tier states all it
    /// sets, no schema defaults apply inside. nauth-rs extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "tiered_limits_schema")]
    pub jet_stream_tiered_limits: Option<BTreeMap<String, JetStreamLimits>>,
    /// Subject mappings: subject → weighted destinations (JWT `mappings`). nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mappings: Option<BTreeMap<String, Vec<WeightedMapping>>>,
    /// Permissions of users that state none of their own (JWT `default_permissions`).
    /// nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_permissions: Option<Permissions>,
    /// Revoked users: user public key, or `*` for all, → unix seconds; users issued at or before
    /// that time are rejected (JWT `revocations`). nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocations: Option<BTreeMap<String, i64>>,
    /// Auth-callout configuration (JWT `authorization`). nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// Message tracing of the account (JWT `trace`). nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<MessageTrace>,
    /// JWT `tags`. nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// JWT `description`. nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JWT `info_url`. nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_url: Option<String>,
}

absent_spec_is_default!(AccountSpec);

/// One destination of a subject mapping. nauth-rs extension.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WeightedMapping {
    /// Destination subject.
    pub subject: String,
    /// Share of messages sent to this destination, in percent (JWT treats absent as 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub weight: Option<i64>,
    /// Only apply the mapping in this NATS cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// Auth callout: which users handle authentication for this account. nauth-rs extension.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// Public keys of the users that run the callout service (JWT `auth_users`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_users: Option<Vec<String>>,
    /// Accounts the callout may place users into (JWT `allowed_accounts`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_accounts: Option<Vec<String>>,
    /// Curve public key requests to the callout are encrypted with (JWT `xkey`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xkey: Option<String>,
}

/// Message tracing destination and sampling (JWT `trace`). nauth-rs extension.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MessageTrace {
    /// Subject trace events are published to (JWT `dest`).
    pub destination: String,
    /// Percentage of messages traced.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub sampling: Option<i64>,
}

impl AccountSpec {
    /// Schema rules of the spec that parsing does not already enforce.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(refs) = &self.signing_key_refs {
            check::max_items(&mut errors, "spec.signingKeyRefs", refs, 64);
            let mut seen = BTreeSet::new();
            for (i, r) in refs.iter().enumerate() {
                let path = format!("spec.signingKeyRefs[{i}]");
                errors.extend(r.validate(&path));
                if !seen.insert(r.list_key()) {
                    errors.push(FieldError::new(
                        path,
                        "duplicate entry: (kind, namespace, name) must be unique",
                    ));
                }
            }
        }
        for (subject, targets) in self.mappings.iter().flatten() {
            for (i, target) in targets.iter().enumerate() {
                if let Some(weight) = target.weight {
                    let path = format!("spec.mappings[{subject}][{i}].weight");
                    check::range(&mut errors, &path, weight, 0, 100);
                }
            }
        }
        if let Some(sampling) = self.trace.as_ref().and_then(|t| t.sampling) {
            check::range(&mut errors, "spec.trace.sampling", sampling, 0, 100);
        }
        errors
    }
}

/// Observed state of an Account.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountStatus {
    /// The claims last signed (managed) or read from NATS (observe mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<AccountClaims>,
    /// Hash of the signed claims without `iat`/`jti`; decides whether a new JWT is needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_hash: Option<String>,
    /// AccountExports and AccountImports bound to the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adoptions: Option<AccountAdoptions>,
    /// Conditions and reconcile bookkeeping.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
}

/// NAuth's readable form of an account JWT's claims.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountClaims {
    /// JWT `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Account-wide limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_limits: Option<AccountLimits>,
    /// Whether JetStream is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jet_stream_enabled: Option<bool>,
    /// JetStream limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jet_stream_limits: Option<JetStreamLimits>,
    /// Per-connection message limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_limits: Option<NatsLimits>,
    /// Trusted signing keys, sorted by key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_keys: Option<Vec<SigningKeyClaim>>,
    /// Exports, sorted by subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exports: Option<Vec<Export>>,
    /// Imports, sorted by subject, with `account` set to the exporter's ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imports: Option<Vec<Import>>,
}

/// A signing key listed in the account claims.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct SigningKeyClaim {
    /// Public key ("A…").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Child objects adopted by the account, by kind.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct AccountAdoptions {
    /// Adopted AccountExports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exports: Option<Vec<AccountAdoption>>,
    /// Adopted AccountImports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imports: Option<Vec<AccountAdoption>>,
}

/// The adoption of one AccountExport or AccountImport.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountAdoption {
    /// Name of the child object.
    #[schemars(length(min = 1))]
    pub name: String,
    /// UID of the child object.
    pub uid: String,
    /// Generation of the child object when adopted.
    #[schemars(range(min = 0))]
    pub observed_generation: i64,
    /// Outcome of the adoption.
    pub status: AdoptionStatus,
}

/// Outcome of an adoption, shaped like a condition.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdoptionStatus {
    /// Whether the child's claims are in the account.
    pub status: AdoptionState,
    /// Generation of the child's desired claim that was adopted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub desired_claim_observed_generation: Option<i64>,
    /// CamelCase reason.
    #[schemars(
        length(min = 1, max = 1024),
        pattern("^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    )]
    pub reason: String,
    /// Human-readable detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32768))]
    pub message: Option<String>,
}

/// Condition-style tri-state.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AdoptionState {
    /// Adopted.
    True,
    /// Not adopted.
    False,
    /// Not known yet.
    #[default]
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> AccountSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn empty_spec_is_valid() {
        assert!(AccountSpec::default().validate().is_empty());
    }

    #[test]
    fn duplicate_signing_key_refs_are_reported_after_defaulting() {
        let s = spec(serde_json::json!({"signingKeyRefs": [
            {"name": "a"},
            {"name": "a", "namespace": "", "kind": "AccountSigningKey"},
            {"name": "a", "namespace": "other"}
        ]}));
        let errors = s.validate();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "spec.signingKeyRefs[1]");
    }

    #[test]
    fn too_many_signing_key_refs() {
        let refs: Vec<_> = (0..65)
            .map(|i| serde_json::json!({"name": format!("k{i}")}))
            .collect();
        let errors = spec(serde_json::json!({ "signingKeyRefs": refs })).validate();
        assert_eq!(
            errors,
            [FieldError::new(
                "spec.signingKeyRefs",
                "must have at most 64 items"
            )]
        );
    }

    #[test]
    fn extension_ranges() {
        let s = spec(serde_json::json!({
            "mappings": {"a.>": [{"subject": "b.>", "weight": 101}]},
            "trace": {"destination": "t", "sampling": -1}
        }));
        let paths: Vec<_> = s.validate().into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            ["spec.mappings[a.>][0].weight", "spec.trace.sampling"]
        );
    }
}
