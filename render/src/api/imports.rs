//! Imports: the inline `Account.spec.imports` items and the pieces `AccountImport` rules share.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AccountRef, ExportType};

/// Import settings that inline imports and `AccountImport` rules both have.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImportOptions {
    /// Subject the import appears under in the importing account, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_subject: Option<String>,
    /// Whether service latency tracking is shared with the exporter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<bool>,
    /// Whether message traces may cross the import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_trace: Option<bool>,
}

/// An item of `Account.spec.imports` (deprecated in NAuth in favour of `AccountImport`, still
/// supported).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Import {
    /// The exporting Account; its ID is resolved from this reference.
    pub account_ref: AccountRef,
    /// Name of the import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Imported subject, as the exporter names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Exporter account ID; accepted for NAuth compatibility and ignored, like NAuth does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Stream or service.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub import_type: Option<ExportType>,
    /// Settings shared with `AccountImport` rules.
    #[serde(flatten)]
    pub options: ImportOptions,
}
