//! `AccountExport`: exports of an Account as a separate object (NAuth ADR-5).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ExportOptions, ExportType, FieldError, ReconcileStatus, check};

/// Desired state of an AccountExport.
#[allow(
    clippy::duplicated_attributes,
    reason = "each kube printcolumn repeats `type_ = \"string\"`"
)]
#[derive(CustomResource, JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(remote = "Self")]
#[kube(
    group = "nauth.io",
    version = "v1alpha1",
    kind = "AccountExport",
    namespaced,
    status = "AccountExportStatus",
    derive = "PartialEq",
    doc = "Exports of an Account, bound to and adopted by it.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Rules",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="ValidRules")].reason"#
    ),
    printcolumn(
        name = "Bound",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="BoundToAccount")].reason"#
    ),
    printcolumn(
        name = "Adopted",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="AdoptedByAccount")].reason"#
    )
)]
#[serde(rename_all = "camelCase")]
pub struct AccountExportSpec {
    /// The exporting Account, in the same namespace.
    pub account_name: String,
    /// What is exported; at least one rule.
    #[schemars(length(min = 1))]
    pub rules: Vec<AccountExportRule>,
}

absent_spec_is_default!(AccountExportSpec);

/// One exported subject.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountExportRule {
    /// Name of the rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Exported subject.
    pub subject: String,
    /// Stream or service.
    #[serde(rename = "type")]
    pub export_type: ExportType,
    /// Service and tracing settings.
    #[serde(flatten)]
    pub options: ExportOptions,
}

impl AccountExportSpec {
    /// Schema rules of the spec that parsing does not already enforce.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check::required(&mut errors, "spec.accountName", &self.account_name);
        check::min_items(&mut errors, "spec.rules", &self.rules, 1);
        errors
    }
}

/// Observed state of an AccountExport.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountExportStatus {
    /// ID of the Account the export is bound to.
    #[serde(rename = "accountID", skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The last valid rules, for the Account to adopt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_claim: Option<AccountExportDesiredClaim>,
    /// Conditions and reconcile bookkeeping.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
}

/// Validated rules of one generation of an AccountExport.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountExportDesiredClaim {
    /// Generation the rules come from.
    pub observed_generation: i64,
    /// The rules.
    #[schemars(length(min = 1))]
    pub rules: Vec<AccountExportRule>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_must_not_be_empty() {
        let spec = AccountExportSpec {
            account_name: "a".into(),
            rules: vec![],
        };
        assert_eq!(
            spec.validate(),
            [FieldError::new(
                "spec.rules",
                "must have at least 1 item(s)"
            )]
        );
    }
}
