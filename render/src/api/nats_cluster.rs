//! `NatsCluster`: where the NATS servers are and which operator and system account sign for them.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FieldError, ReconcileStatus, SecretKeyRef, check};

/// Desired state of a NatsCluster. Exactly one of `url` and `urlFrom` is set.
#[allow(
    clippy::duplicated_attributes,
    reason = "each kube printcolumn repeats `type_ = \"string\"`"
)]
#[derive(CustomResource, JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(remote = "Self")]
#[kube(
    group = "nauth.io",
    version = "v1alpha1",
    kind = "NatsCluster",
    namespaced,
    status = "NatsClusterStatus",
    derive = "PartialEq",
    doc = "A NATS cluster: its URL and the keys that manage accounts on it.",
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
#[schemars(extend("x-kubernetes-validations" = [
    { "rule": "has(self.url) != has(self.urlFrom)", "message": ONE_OF_URL }
]))]
pub struct NatsClusterSpec {
    /// NATS URL; a comma-separated list of servers is allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where to read the NATS URL from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_from: Option<UrlFrom>,
    /// Secret with the operator signing seed ("SO…") that signs account JWTs.
    pub operator_signing_key_secret_ref: SecretKeyRef,
    /// Secret with the creds of a system-account user, for talking to the resolver.
    pub system_account_user_creds_secret_ref: SecretKeyRef,
}

absent_spec_is_default!(NatsClusterSpec);

/// Message of the CEL rule on the spec, reused by [`NatsClusterSpec::validate`].
const ONE_OF_URL: &str = "exactly one of url or urlFrom must be specified";

/// A key of a ConfigMap or Secret holding the NATS URL.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UrlFrom {
    /// ConfigMap or Secret.
    pub kind: UrlSourceKind,
    /// Name of the object.
    pub name: String,
    /// Namespace of the object; the NatsCluster's when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Key whose value is the URL.
    pub key: String,
}

/// Kinds of objects a NATS URL can be read from.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UrlSourceKind {
    /// A ConfigMap (`data` and `binaryData`).
    #[default]
    ConfigMap,
    /// A Secret.
    Secret,
}

impl NatsClusterSpec {
    /// Schema rules of the spec that parsing does not already enforce: the `url`/`urlFrom`
    /// one-of rule.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = match (&self.url, &self.url_from) {
            (Some(_), Some(_)) => vec![FieldError::new("spec.urlFrom", ONE_OF_URL)],
            (None, None) => vec![FieldError::new("spec.url", ONE_OF_URL)],
            _ => Vec::new(),
        };
        for (path, r) in [
            (
                "spec.operatorSigningKeySecretRef.name",
                &self.operator_signing_key_secret_ref,
            ),
            (
                "spec.systemAccountUserCredsSecretRef.name",
                &self.system_account_user_creds_secret_ref,
            ),
        ] {
            check::required(&mut errors, path, &r.name);
        }
        errors
    }
}

/// Observed state of a NatsCluster.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NatsClusterStatus {
    /// Conditions and reconcile bookkeeping.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: Option<&str>, url_from: bool) -> NatsClusterSpec {
        NatsClusterSpec {
            url: url.map(Into::into),
            url_from: url_from.then(|| UrlFrom {
                name: "cm".into(),
                key: "url".into(),
                ..Default::default()
            }),
            operator_signing_key_secret_ref: SecretKeyRef {
                name: "operator-signing-key".into(),
                ..Default::default()
            },
            system_account_user_creds_secret_ref: SecretKeyRef {
                name: "system-account-user-creds".into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn exactly_one_of_url_and_url_from() {
        assert!(spec(Some("nats://x:4222"), false).validate().is_empty());
        assert!(spec(None, true).validate().is_empty());
        assert_eq!(
            spec(Some("nats://x"), true).validate()[0].path,
            "spec.urlFrom"
        );
        assert_eq!(spec(None, false).validate()[0].path, "spec.url");
    }

    #[test]
    fn an_absent_spec_lacks_the_secret_refs() {
        let paths: Vec<_> = (NatsClusterSpec::default().validate().into_iter())
            .map(|e| format!("{}: {}", e.path, e.rule))
            .collect();
        assert_eq!(
            paths[1..],
            [
                "spec.operatorSigningKeySecretRef.name: required",
                "spec.systemAccountUserCredsSecretRef.name: required"
            ]
        );
    }
}
