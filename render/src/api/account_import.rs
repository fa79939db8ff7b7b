//! `AccountImport`: imports of an Account as a separate object (NAuth ADR-5).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AccountRef, ExportType, FieldError, ImportOptions, ReconcileStatus, check};

/// Desired state of an AccountImport.
#[allow(
    clippy::duplicated_attributes,
    reason = "each kube printcolumn repeats `type_ = \"string\"`"
)]
#[derive(CustomResource, JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(remote = "Self")]
#[kube(
    group = "nauth.io",
    version = "v1alpha1",
    kind = "AccountImport",
    namespaced,
    status = "AccountImportStatus",
    derive = "PartialEq",
    doc = "Imports of an Account from another Account's exports.",
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
        name = "Account",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="BoundToAccount")].reason"#
    ),
    printcolumn(
        name = "Export",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="BoundToExportAccount")].reason"#
    ),
    printcolumn(
        name = "Adopted",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="AdoptedByAccount")].reason"#
    )
)]
#[serde(rename_all = "camelCase")]
pub struct AccountImportSpec {
    /// The importing Account, in the same namespace.
    pub account_name: String,
    /// The exporting Account, in any namespace (empty namespace: the import's own).
    pub export_account_ref: AccountRef,
    /// What is imported; at least one rule.
    #[schemars(length(min = 1))]
    pub rules: Vec<AccountImportRule>,
}

absent_spec_is_default!(AccountImportSpec);

/// One imported subject.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountImportRule {
    /// Name of the rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Imported subject, equal to or narrower than an exported subject.
    pub subject: String,
    /// Stream or service.
    #[serde(rename = "type")]
    pub import_type: ExportType,
    /// Local subject, sharing and tracing.
    #[serde(flatten)]
    pub options: ImportOptions,
}

/// A rule with the exporter's account ID resolved, as the Account adopts it.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountImportRuleDerived {
    /// ID of the exporting account.
    pub account: String,
    /// The rule.
    #[serde(flatten)]
    pub rule: AccountImportRule,
}

impl AccountImportSpec {
    /// Schema rules of the spec that parsing does not already enforce.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check::required(&mut errors, "spec.accountName", &self.account_name);
        check::required(
            &mut errors,
            "spec.exportAccountRef.name",
            &self.export_account_ref.name,
        );
        check::min_items(&mut errors, "spec.rules", &self.rules, 1);
        errors
    }
}

/// Observed state of an AccountImport.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountImportStatus {
    /// ID of the importing Account (in NAuth's schema, never written by NAuth).
    #[serde(rename = "accountID", skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// ID of the exporting Account (in NAuth's schema, never written by NAuth).
    #[serde(rename = "exportAccountID", skip_serializing_if = "Option::is_none")]
    pub export_account_id: Option<String>,
    /// The last valid rules, for the Account to adopt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_claim: Option<AccountImportDesiredClaim>,
    /// Conditions and reconcile bookkeeping.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
}

/// Validated rules of one generation of an AccountImport.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountImportDesiredClaim {
    /// Generation the rules come from.
    pub observed_generation: i64,
    /// The rules with resolved exporter IDs.
    #[schemars(length(min = 1))]
    pub rules: Vec<AccountImportRuleDerived>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_must_not_be_empty() {
        let spec: AccountImportSpec = serde_json::from_value(serde_json::json!({
            "accountName": "a", "exportAccountRef": {"name": "b", "namespace": ""}, "rules": []
        }))
        .unwrap();
        assert_eq!(spec.validate()[0].path, "spec.rules");
    }

    #[test]
    fn derived_rule_flattens_the_rule() {
        let json = serde_json::json!({
            "account": "AEXP", "subject": "s.>", "type": "stream", "share": false, "allowTrace": false
        });
        let rule: AccountImportRuleDerived = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(rule.rule.options.share, Some(false));
        assert_eq!(serde_json::to_value(&rule).unwrap(), json);
    }
}
