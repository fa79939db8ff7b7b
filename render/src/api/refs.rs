//! References from one object to another.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::FieldError;
use super::check;

/// The NatsCluster an Account is rendered for.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NatsClusterRef {
    /// Name of the NatsCluster.
    pub name: String,
    /// Namespace of the NatsCluster; the Account's namespace when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// An Account by name and namespace, both stated (inline imports, `exportAccountRef`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountRef {
    /// Name of the Account.
    pub name: String,
    /// Namespace of the Account; NAuth reads an empty string as the referrer's namespace.
    pub namespace: String,
}

/// The only kind a signing-key reference may name today; NAuth reserves the field for issuers.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord,
)]
pub enum SigningKeyKind {
    /// An [`super::AccountSigningKey`] object.
    #[default]
    AccountSigningKey,
}

/// A signing key an Account trusts, or the one a User is signed with.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountSigningKeyRef {
    /// Kind of the referenced object; `AccountSigningKey` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "AccountSigningKey"))]
    pub kind: Option<SigningKeyKind>,
    /// Name of the referenced object.
    #[schemars(length(min = 1, max = 253), pattern(check::DNS_LABEL_PATTERN))]
    pub name: String,
    /// Namespace of the referenced object; empty or absent means the referrer's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        extend("default" = ""),
        length(max = 253),
        pattern(check::OPTIONAL_DNS_LABEL_PATTERN)
    )]
    pub namespace: Option<String>,
}

impl AccountSigningKeyRef {
    /// The list-map key `(kind, namespace, name)` with schema defaults applied, which the API
    /// server requires to be unique within `signingKeyRefs`.
    pub fn list_key(&self) -> (SigningKeyKind, &str, &str) {
        (
            self.kind.unwrap_or_default(),
            self.namespace.as_deref().unwrap_or(""),
            &self.name,
        )
    }

    /// Schema rules of the reference at `path`.
    pub fn validate(&self, path: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check::dns_label(&mut errors, &format!("{path}.name"), &self.name);
        if let Some(namespace) = self.namespace.as_deref().filter(|ns| !ns.is_empty()) {
            check::dns_label(&mut errors, &format!("{path}.namespace"), namespace);
        }
        errors
    }
}

/// A key in a Secret in the referrer's namespace.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    pub name: String,
    /// Key in the Secret; NAuth reads `default` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl SecretKeyRef {
    /// The key to read: `key`, or `default` when it is absent or empty, as NAuth reads it.
    pub fn key_or_default(&self) -> &str {
        self.key
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or("default")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_key_ref_checks_name_and_namespace() {
        let good = AccountSigningKeyRef {
            name: "auth-callout".into(),
            namespace: Some(String::new()),
            ..Default::default()
        };
        assert!(good.validate("spec.signingKeyRef").is_empty());
        let bad = AccountSigningKeyRef {
            name: "Auth".into(),
            namespace: Some("x_y".into()),
            ..Default::default()
        };
        let paths: Vec<_> = bad
            .validate("spec.signingKeyRef")
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            ["spec.signingKeyRef.name", "spec.signingKeyRef.namespace"]
        );
    }

    #[test]
    fn list_key_applies_defaults() {
        let r: AccountSigningKeyRef = serde_json::from_str(r#"{"name":"k"}"#).unwrap();
        assert_eq!(r.list_key(), (SigningKeyKind::AccountSigningKey, "", "k"));
    }
}
