//! `AccountSigningKey`: one account signing-key seed in a Secret, trusted by Accounts that
//! reference it, optionally scoped to a fixed user template.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FieldError, ReconcileStatus, UserPermissionLimits, check};
use crate::{claims, jwt};

/// Desired state of an AccountSigningKey.
#[allow(
    clippy::duplicated_attributes,
    reason = "each kube printcolumn repeats `type_ = \"string\"`"
)]
#[derive(CustomResource, JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(remote = "Self")]
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

absent_spec_is_default!(AccountSigningKeySpec);

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
        if let Some(template) = self.scope.as_ref().and_then(|s| s.template.as_ref()) {
            validate_template(&mut errors, template);
        }
        errors
    }
}

/// Largest magnitude a float64 holds exactly. nats-server reads a scoped key's template through
/// Go's `interface{}`, where every number is a float64: larger numbers arrive changed, and
/// `9223372036854775807` no longer fits an int64, so the whole account JWT is refused.
const MAX_EXACT_IN_FLOAT: i64 = 1 << 53;

/// Rules a template must meet for nats-server to apply it as written: the user-facing checks
/// NATS makes on a User's own fields, and what the JSON round trip through Go loses.
fn validate_template(errors: &mut Vec<FieldError>, template: &UserPermissionLimits) {
    const PATH: &str = "spec.scope.template";
    let exact = |errors: &mut Vec<FieldError>, path: String, value: i64| {
        if value.unsigned_abs() > MAX_EXACT_IN_FLOAT.unsigned_abs() {
            errors.push(FieldError::new(
                path,
                format!(
                    "must be between -{MAX_EXACT_IN_FLOAT} and {MAX_EXACT_IN_FLOAT}: NATS reads \
                     templates as floating-point numbers, so a larger one changes or makes NATS \
                     refuse the account"
                ),
            ));
        }
    };
    if let Some(limits) = &template.nats_limits {
        let each = [
            ("subs", limits.subs),
            ("data", limits.data),
            ("payload", limits.payload),
        ];
        for (name, value) in each {
            let path = format!("{PATH}.natsLimits.{name}");
            match value {
                Some(0) => errors.push(FieldError::new(
                    path,
                    "must not be 0: the JWT leaves a zero limit out, and NATS reads a template \
                     limit that is left out as -1 (unlimited); give a positive limit or -1",
                )),
                Some(v) => exact(errors, path, v),
                None => {}
            }
        }
    }
    if let Some(resp) = template.permissions.as_ref().and_then(|p| p.resp.as_ref()) {
        for (name, value) in [("max", resp.max), ("ttl", resp.ttl)] {
            if let Some(v) = value {
                exact(errors, format!("{PATH}.permissions.resp.{name}"), v);
            }
        }
    }
    if let Some(limits) = &template.user_limits {
        let mut vr = jwt::ValidationResults::default();
        claims::user_limits(limits).validate(&mut vr);
        for rule in vr.errors() {
            errors.push(FieldError::new(format!("{PATH}.userLimits"), rule));
        }
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

    fn template_errors(template: serde_json::Value) -> Vec<(String, String)> {
        let spec: AccountSigningKeySpec = serde_json::from_value(serde_json::json!({
            "scope": {"role": "r", "template": template}
        }))
        .unwrap();
        let errors = spec.validate();
        errors.into_iter().map(|e| (e.path, e.rule)).collect()
    }

    #[test]
    fn template_numbers_must_survive_a_float64() {
        let errors = template_errors(serde_json::json!({
            "natsLimits": {"subs": 9_007_199_254_740_992_i64, "data": 9_223_372_036_854_775_807_i64},
            "permissions": {"resp": {"max": 1, "ttl": -9_007_199_254_740_993_i64}}
        }));
        let paths: Vec<_> = errors.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.scope.template.natsLimits.data",
                "spec.scope.template.permissions.resp.ttl"
            ]
        );
        assert!(errors[0].1.contains("floating-point"), "{}", errors[0].1);
    }

    #[test]
    fn template_limits_of_zero_are_refused() {
        let errors = template_errors(serde_json::json!({
            "natsLimits": {"subs": -1, "data": 0, "payload": 1024}
        }));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "spec.scope.template.natsLimits.data");
        assert!(errors[0].1.contains("-1 (unlimited)"), "{}", errors[0].1);
    }

    #[test]
    fn template_times_and_networks_follow_the_user_rules() {
        let errors = template_errors(serde_json::json!({
            "userLimits": {
                "src": ["10.0.0.0/8", "not-a-network"],
                "times": [{"start": "25:00:00", "end": "08:00:00"}]
            }
        }));
        let rules: Vec<_> = errors.iter().map(|e| e.1.as_str()).collect();
        assert_eq!(
            rules,
            [
                "invalid cidr \"not-a-network\" in user src limits",
                "start in time range is invalid \"25:00:00\""
            ]
        );
        assert!(
            errors
                .iter()
                .all(|e| e.0 == "spec.scope.template.userLimits")
        );
        let fine = template_errors(serde_json::json!({
            "natsLimits": {"subs": 10, "data": -1},
            "userLimits": {"src": ["10.0.0.0/8"], "times": [{"start": "08:00:00", "end": "17:00:00"}]}
        }));
        assert!(fine.is_empty(), "{fine:?}");
    }
}
