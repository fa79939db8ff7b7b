//! Services and streams an account offers to other accounts.

use serde::de::{self, Deserializer};
use serde::ser::{self, Serializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use super::info::Info;
use super::json::{go_quote, is_false, is_zero};
use super::subject::{go_is_contained_in, has_wildcards, validate_subject};
use super::validation::ValidationResults;

/// Go's `ExportType`, also used by imports and activations. `Unknown` is omitted on encode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExportType {
    /// Not set (Go's 0).
    #[default]
    Unknown,
    /// `"stream"`.
    Stream,
    /// `"service"`.
    Service,
}

impl ExportType {
    /// True for [`ExportType::Unknown`], the value Go's `omitempty` drops.
    pub fn is_unknown(&self) -> bool {
        *self == ExportType::Unknown
    }
}

impl fmt::Display for ExportType {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            ExportType::Unknown => "unknown",
            ExportType::Stream => "stream",
            ExportType::Service => "service",
        })
    }
}

impl Serialize for ExportType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ExportType::Unknown => Err(ser::Error::custom("unknown export type")),
            known => s.serialize_str(&known.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for ExportType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "stream" => Ok(ExportType::Stream),
            "service" => Ok(ExportType::Service),
            other => Err(de::Error::custom(format!(
                "unknown export type {}",
                go_quote(other)
            ))),
        }
    }
}

/// Go's `ResponseType` of a service export. Any other string is representable (Go stores
/// strings) so validation can report it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ResponseType {
    /// Not set; services then behave as `Singleton`.
    #[default]
    Unset,
    /// One response.
    Singleton,
    /// Many responses.
    Stream,
    /// One response in chunks.
    Chunked,
    /// Anything else (invalid).
    Other(String),
}

impl ResponseType {
    fn as_str(&self) -> &str {
        match self {
            ResponseType::Unset => "",
            ResponseType::Singleton => "Singleton",
            ResponseType::Stream => "Stream",
            ResponseType::Chunked => "Chunked",
            ResponseType::Other(s) => s,
        }
    }

    /// True for [`ResponseType::Unset`], the value Go's `omitempty` drops.
    pub fn is_unset(&self) -> bool {
        *self == ResponseType::Unset
    }
}

impl Serialize for ResponseType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResponseType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match String::deserialize(d)?.as_str() {
            "" => ResponseType::Unset,
            "Singleton" => ResponseType::Singleton,
            "Stream" => ResponseType::Stream,
            "Chunked" => ResponseType::Chunked,
            other => ResponseType::Other(other.to_string()),
        })
    }
}

/// Go's `ServiceLatency`: where and how often to publish service latency metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLatency {
    /// Percentage 1–100, or 0 for "headers" (trace only requests carrying tracing headers).
    #[serde(serialize_with = "ser_sampling", deserialize_with = "de_sampling")]
    pub sampling: i64,
    /// Subject metrics are published to; no wildcards.
    pub results: String,
}

fn ser_sampling<S: Serializer>(rate: &i64, s: S) -> Result<S::Ok, S::Error> {
    match rate {
        0 => s.serialize_str("headers"),
        1..=100 => s.serialize_i64(*rate),
        _ => Err(ser::Error::custom("unknown sampling rate")),
    }
}

fn de_sampling<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Rate(i64),
        Word(String),
    }
    match Raw::deserialize(d)? {
        Raw::Rate(rate) => Ok(rate),
        Raw::Word(w) if w.eq_ignore_ascii_case("headers") => Ok(0),
        Raw::Word(w) => Err(de::Error::custom(format!("invalid sampling rate {w:?}"))),
    }
}

impl ServiceLatency {
    /// Go's `ServiceLatency.Validate`.
    pub fn validate(&self, vr: &mut ValidationResults) {
        if self.sampling != 0 && !(1..=100).contains(&self.sampling) {
            vr.add_error("sampling percentage needs to be between 1-100");
        }
        validate_subject(&self.results, vr);
        if has_wildcards(&self.results) {
            vr.add_error("results subject can not contain wildcards");
        }
    }
}

/// Go's `Export`, fields in Go order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Export {
    /// Display name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Exported subject, wildcards allowed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Stream or service.
    #[serde(rename = "type", skip_serializing_if = "ExportType::is_unknown")]
    pub export_type: ExportType,
    /// Importers need an activation token.
    #[serde(skip_serializing_if = "is_false")]
    pub token_req: bool,
    /// Revoked activations: importer account → unix seconds.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub revocations: BTreeMap<String, i64>,
    /// Services only.
    #[serde(skip_serializing_if = "ResponseType::is_unset")]
    pub response_type: ResponseType,
    /// Services only: how long responses may take, in nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub response_threshold: i64,
    /// Services only: latency tracking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_latency: Option<ServiceLatency>,
    /// 1-based token of `subject` that must equal the importer's account key.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub account_token_position: u32,
    /// List the export publicly.
    #[serde(skip_serializing_if = "is_false")]
    pub advertise: bool,
    /// Services only: forward message traces.
    #[serde(skip_serializing_if = "is_false")]
    pub allow_trace: bool,
    /// Description and link.
    #[serde(flatten)]
    pub info: Info,
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

impl Export {
    /// Go's `Export.Validate`.
    pub fn validate(&self, vr: &mut ValidationResults) {
        let service = self.export_type == ExportType::Service;
        let stream = self.export_type == ExportType::Stream;
        if !service && !stream {
            vr.add_error(format!(
                "invalid export type: {}",
                go_quote(&self.export_type.to_string())
            ));
        }
        let response = go_quote(self.response_type.as_str());
        if service && matches!(self.response_type, ResponseType::Other(_)) {
            vr.add_error(format!("invalid response type for service: {response}"));
        }
        if stream {
            if !self.response_type.is_unset() {
                vr.add_error(format!("invalid response type for stream: {response}"));
            }
            if self.allow_trace {
                vr.add_error("AllowTrace only valid for service export");
            }
        }
        if let Some(latency) = &self.service_latency {
            if !service {
                vr.add_error("latency tracking only permitted for services");
            }
            latency.validate(vr);
        }
        if self.response_threshold < 0 {
            vr.add_error("negative response threshold is invalid");
        }
        if self.response_threshold > 0 && !service {
            vr.add_error("response threshold only valid for services");
        }
        validate_subject(&self.subject, vr);
        self.validate_account_token_position(vr);
        self.info.validate(vr);
    }

    fn validate_account_token_position(&self, vr: &mut ValidationResults) {
        let pos = self.account_token_position;
        if pos == 0 {
            return;
        }
        let subject = &self.subject;
        if !has_wildcards(subject) {
            vr.add_error(format!(
                "Account Token Position can only be used with wildcard subjects: {subject}"
            ));
            return;
        }
        let tokens: Vec<&str> = subject.split('.').collect();
        match tokens.get(pos as usize - 1) {
            None => vr.add_error(format!(
                "Account Token Position {pos} exceeds length of subject '{subject}'"
            )),
            Some(&tk) if tk != "*" => vr.add_error(format!(
                "Account Token Position {pos} matches '{tk}' but must match a * in: {subject}"
            )),
            Some(_) => {}
        }
    }
}

/// Go's `Exports`; encoding sorts it by subject with a stable sort.
pub type Exports = Vec<Export>;

/// Go's `Exports.Validate`: each export, then no export of one type may contain another's
/// subject. Go iterates a map for the overlap messages; they come out sorted here.
pub fn validate_exports(exports: &[Export], vr: &mut ValidationResults) {
    let mut services = Vec::new();
    let mut streams = Vec::new();
    for export in exports {
        if export.export_type == ExportType::Service {
            services.push(export.subject.as_str());
        } else {
            streams.push(export.subject.as_str());
        }
        export.validate(vr);
    }
    report_overlaps(ExportType::Service, &services, vr);
    report_overlaps(ExportType::Stream, &streams, vr);
}

fn report_overlaps(kind: ExportType, subjects: &[&str], vr: &mut ValidationResults) {
    let mut first_contained: BTreeMap<&str, &str> = BTreeMap::new();
    for (i, inner) in subjects.iter().enumerate() {
        for (j, outer) in subjects.iter().enumerate() {
            if i != j && go_is_contained_in(inner, outer) {
                first_contained.entry(outer).or_insert(inner);
            }
        }
    }
    for (outer, inner) in first_contained {
        vr.add_error(format!(
            "{kind} export subject {} already exports {}",
            go_quote(outer),
            go_quote(inner)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::to_go_json;

    fn messages(vr: &ValidationResults) -> Vec<&str> {
        vr.issues.iter().map(|i| i.description.as_str()).collect()
    }

    fn export(subject: &str, export_type: ExportType) -> Export {
        Export {
            subject: subject.into(),
            export_type,
            ..Default::default()
        }
    }

    #[test]
    fn sampling_encodes_headers_and_rejects_out_of_range() {
        let mut lat = ServiceLatency {
            sampling: 0,
            results: "r".into(),
        };
        assert_eq!(
            to_go_json(&lat).unwrap(),
            br#"{"sampling":"headers","results":"r"}"#
        );
        lat.sampling = 101;
        assert!(to_go_json(&lat).is_err());
        let back: ServiceLatency =
            serde_json::from_str(r#"{"sampling":"HEADERS","results":"r"}"#).unwrap();
        assert_eq!(back.sampling, 0);
    }

    #[test]
    fn overlapping_exports_use_go_message() {
        let exports = vec![
            export("svc.>", ExportType::Service),
            export("svc.a", ExportType::Service),
            export("str.a", ExportType::Stream),
            export("str.b", ExportType::Stream),
        ];
        let mut vr = ValidationResults::default();
        validate_exports(&exports, &mut vr);
        assert_eq!(
            messages(&vr),
            vec![r#"service export subject "svc.>" already exports "svc.a""#]
        );
    }

    #[test]
    fn service_only_options_are_rejected_on_streams() {
        let mut e = export("s.*", ExportType::Stream);
        e.response_type = ResponseType::Chunked;
        e.allow_trace = true;
        e.response_threshold = 5;
        e.service_latency = Some(ServiceLatency {
            sampling: 200,
            results: "lat.*".into(),
        });
        e.account_token_position = 1;
        let mut vr = ValidationResults::default();
        e.validate(&mut vr);
        assert_eq!(
            messages(&vr),
            vec![
                r#"invalid response type for stream: "Chunked""#,
                "AllowTrace only valid for service export",
                "latency tracking only permitted for services",
                "sampling percentage needs to be between 1-100",
                "results subject can not contain wildcards",
                "response threshold only valid for services",
                "Account Token Position 1 matches 's' but must match a * in: s.*",
            ]
        );
    }
}
