//! `User`: a NATS user of an Account, rendered into a creds Secret.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    AccountSigningKeyRef, FieldError, NatsLimits, Permissions, ReconcileStatus, UserLimits,
    UserPermissionLimits, check,
};

/// Desired state of a User.
#[allow(
    clippy::duplicated_attributes,
    reason = "each kube printcolumn repeats `type_ = \"string\"`"
)]
#[derive(CustomResource, JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(remote = "Self")]
#[kube(
    group = "nauth.io",
    version = "v1alpha1",
    kind = "User",
    namespaced,
    status = "UserStatus",
    derive = "PartialEq",
    doc = "A NATS user of an Account; its JWT and seed land in a creds Secret.",
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
pub struct UserSpec {
    /// The Account, in the same namespace, the user belongs to.
    pub account_name: String,
    /// JWT `name`; `<namespace>/<name>` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// When the user JWT expires (JWT `exp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// Permissions and limits.
    #[serde(flatten)]
    pub permission_limits: UserPermissionLimits,
    /// AccountSigningKey that signs the user; the Account's implicit signing key when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key_ref: Option<AccountSigningKeyRef>,
    /// JWT `tags`. nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

absent_spec_is_default!(UserSpec);

impl User {
    /// The Account the User belongs to: its spec's, else the one its status recorded, so that a
    /// User whose spec was removed can still be revoked by, and deleted from, that Account.
    pub fn account_name(&self) -> &str {
        let recorded = (self.status.as_ref().and_then(|s| s.claims.as_ref()))
            .and_then(|c| c.account_name.as_deref());
        match (self.spec.account_name.as_str(), recorded) {
            ("", Some(recorded)) => recorded,
            (spec, _) => spec,
        }
    }
}

impl UserSpec {
    /// Schema rules of the spec that parsing does not already enforce.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check::required(&mut errors, "spec.accountName", &self.account_name);
        if let Some(r) = &self.signing_key_ref {
            errors.extend(r.validate("spec.signingKeyRef"));
        }
        errors
    }
}

/// Observed state of a User.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserStatus {
    /// NAuth's copy of the spec fields that went into the JWT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<UserClaims>,
    /// Conditions and reconcile bookkeeping.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
}

/// NAuth's `status.claims` of a User: a verbatim copy of spec fields.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserClaims {
    /// Deprecated in NAuth (issue #102), still written by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// `spec.displayName` as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Expiry of the JWT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// Subject permissions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// Per-connection message limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_limits: Option<NatsLimits>,
    /// Source network and time-of-day restrictions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_limits: Option<UserLimits>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ConnectionType;

    #[test]
    fn parses_extensions() {
        let spec: UserSpec = serde_json::from_value(serde_json::json!({
            "accountName": "a",
            "bearerToken": true,
            "allowedConnectionTypes": ["STANDARD", "LEAFNODE_WS", "IN_PROCESS"],
            "expiresAt": "2100-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(
            spec.permission_limits.allowed_connection_types.as_deref(),
            Some(
                &[
                    ConnectionType::Standard,
                    ConnectionType::LeafnodeWs,
                    ConnectionType::InProcess
                ][..]
            )
        );
        assert_eq!(spec.expires_at.unwrap().0.as_second(), 4102444800);
        assert!(
            serde_json::from_value::<UserSpec>(
                serde_json::json!({"accountName": "a", "allowedConnectionTypes": ["websocket"]})
            )
            .is_err()
        );
    }

    #[test]
    fn the_account_is_the_specs_else_the_recorded_one() {
        let mut u = User::new("u", UserSpec::default());
        assert_eq!(u.account_name(), "");
        u.status = Some(UserStatus {
            claims: Some(UserClaims {
                account_name: Some("recorded".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(u.account_name(), "recorded");
        u.spec.account_name = "named".into();
        assert_eq!(u.account_name(), "named");
    }

    #[test]
    fn validates_signing_key_ref() {
        let spec: UserSpec = serde_json::from_value(
            serde_json::json!({"accountName": "a", "signingKeyRef": {"name": "Bad_Name"}}),
        )
        .unwrap();
        let errors = spec.validate();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "spec.signingKeyRef.name");
    }
}
