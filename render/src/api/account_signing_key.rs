//! `AccountSigningKey`: one account signing-key seed in a Secret, trusted by Accounts that
//! reference it, optionally scoped to a fixed user template.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FieldError, ReconcileStatus, UserPermissionLimits, check};

/// Desired state of an AccountSigningKey.
#[allow(
    clippy::duplicated_attributes,
    reason = "each kube printcolumn repeats `type_ = \"string\"`"
)]
#[derive(CustomResource, JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "nauth.io",
    version = "v1alpha1",
    kind = "AccountSigningKey",
    namespaced,
    status = "AccountSigningKeyStatus",
    derive = "PartialEq",
    doc = "An account signing key whose seed is kept in a Secret.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Policy",
        type_ = "string",
        json_path = ".status.managementPolicy"
    ),
    printcolumn(name = "Public Key", type_ = "string", json_path = ".status.publicKey")
)]
#[serde(rename_all = "camelCase")]
pub struct AccountSigningKeySpec {
    /// Secret holding the seed; `<name>-ac-sign` when absent (managed mode only). Immutable.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 253),
        pattern(check::DNS_LABEL_PATTERN),
        extend("x-kubernetes-validations" = [
            { "rule": "self == oldSelf", "message": "secretName is immutable" }
        ])
    )]
    pub secret_name: Option<String>,
    /// Makes this a scoped signing key (JWT `user_scope`): users it signs get the template's
    /// permissions and limits and must state none of their own. nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<SigningKeyScope>,
}

/// Role and user template of a scoped signing key. nauth-rs extension.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SigningKeyScope {
    /// Name of the role, shown by tools (JWT `role`).
    pub role: String,
    /// JWT `description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What every user signed with the key gets; nothing when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<UserPermissionLimits>,
}

impl AccountSigningKeySpec {
    /// Schema rules of the spec that parsing does not already enforce. The immutability of
    /// `secretName` needs the previous object and is not checked here.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(name) = &self.secret_name {
            check::dns_label(&mut errors, "spec.secretName", name);
        }
        errors
    }
}

/// Observed state of an AccountSigningKey.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountSigningKeyStatus {
    /// Public key ("A…") derived from the seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Secret the seed was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Value of the `nauth.io/management-policy` label; empty means managed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub management_policy: Option<String>,
    /// Conditions and reconcile bookkeeping.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_name_must_be_a_dns_label() {
        let spec = AccountSigningKeySpec {
            secret_name: Some("My_Secret".into()),
            ..Default::default()
        };
        let errors = spec.validate();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "spec.secretName");
        assert!(AccountSigningKeySpec::default().validate().is_empty());
    }

    #[test]
    fn scope_round_trips() {
        let json = serde_json::json!({
            "secretName": "k",
            "scope": {"role": "readers", "template": {
                "permissions": {"sub": {"allow": ["data.>"]}},
                "allowedConnectionTypes": ["WEBSOCKET"], "bearerToken": false
            }}
        });
        let spec: AccountSigningKeySpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(spec.scope.as_ref().unwrap().role, "readers");
        assert_eq!(serde_json::to_value(&spec).unwrap(), json);
    }
}
