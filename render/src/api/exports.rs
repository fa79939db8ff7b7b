//! Exports: the inline `Account.spec.exports` items and the pieces `AccountExport` rules share.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// Whether an export or import carries a message stream or a request/reply service.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExportType {
    /// Messages published on the subject.
    Stream,
    /// Requests to the subject and their replies.
    Service,
}

/// How many replies a service export sends per request (JWT `response_type`).
///
/// The schema accepts NAuth's capitalised values only; parsing also takes the lowercase spelling
/// NAuth's claims-mapping fixtures use, and always writes the capitalised one.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseType {
    /// Exactly one reply.
    #[serde(alias = "singleton")]
    Singleton,
    /// Any number of replies.
    #[serde(alias = "stream")]
    Stream,
    /// One reply split into chunks.
    #[serde(alias = "chunked")]
    Chunked,
}

/// Latency tracking of a service export (JWT `service_latency`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct ServiceLatency {
    /// Percentage of requests sampled.
    #[schemars(schema_with = "schema::integer")]
    pub sampling: i64,
    /// Subject the latency results are published to.
    pub results: String,
}

/// Export settings that inline exports and `AccountExport` rules both have.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExportOptions {
    /// Number of replies a service sends per request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<ResponseType>,
    /// Time a service has to reply, in nanoseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_threshold: Option<i64>,
    /// Service latency tracking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_latency: Option<ServiceLatency>,
    /// Subject token that must equal the importing account's ID (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::integer")]
    pub account_token_position: Option<u64>,
    /// Whether the export is advertised to other accounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertise: Option<bool>,
    /// Whether message traces may cross the export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_trace: Option<bool>,
}

/// An item of `Account.spec.exports` (deprecated in NAuth in favour of `AccountExport`, still
/// supported). Nothing is required, as in NAuth; `type` has no schema default.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    /// Name of the export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Exported subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Stream or service.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub export_type: Option<ExportType>,
    /// Whether importers need an activation token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_req: Option<bool>,
    /// Revoked activations: account public key (or `*`) → unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocations: Option<BTreeMap<String, i64>>,
    /// Settings shared with `AccountExport` rules.
    #[serde(flatten)]
    pub options: ExportOptions,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_type_reads_both_spellings_and_writes_capitalised() {
        for (input, want) in [
            ("singleton", ResponseType::Singleton),
            ("Stream", ResponseType::Stream),
            ("chunked", ResponseType::Chunked),
        ] {
            let parsed: ResponseType = serde_json::from_value(input.into()).unwrap();
            assert_eq!(parsed, want);
        }
        assert_eq!(
            serde_json::to_value(ResponseType::Chunked).unwrap(),
            "Chunked"
        );
        assert!(serde_json::from_value::<ResponseType>("STREAM".into()).is_err());
    }

    #[test]
    fn inline_export_round_trips_with_flattened_options() {
        let json = serde_json::json!({
            "name": "svc", "subject": "svc.>", "type": "service", "responseType": "Stream",
            "accountTokenPosition": 2, "revocations": {"AABC": 5}
        });
        let export: Export = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(export.options.account_token_position, Some(2));
        assert_eq!(serde_json::to_value(&export).unwrap(), json);
    }
}
