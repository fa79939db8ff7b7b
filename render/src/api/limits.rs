//! Limits shared by accounts, users and signing-key templates.
//!
//! NAuth's CRDs default every numeric limit to `-1` (unlimited) once the enclosing object is
//! present; the defaults live in the schema only (see the module docs of [`super`]).

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::schema::without_defaults;

/// Per-connection message limits (JWT `subs`, `data`, `payload`), for accounts and users.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NatsLimits {
    /// Maximum subscriptions; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub subs: Option<i64>,
    /// Maximum bytes in flight; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub data: Option<i64>,
    /// Maximum message payload in bytes; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub payload: Option<i64>,
}

/// Account-wide limits (JWT `imports`, `exports`, `wildcards`, `conn`, `leaf`, `disallow_bearer`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountLimits {
    /// Maximum imports; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub imports: Option<i64>,
    /// Maximum exports; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub exports: Option<i64>,
    /// Whether exports may use wildcard subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = true))]
    pub wildcards: Option<bool>,
    /// Maximum client connections; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub conn: Option<i64>,
    /// Maximum leaf-node connections; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub leaf: Option<i64>,
    /// Rejects users of this account that are bearer tokens (JWT `disallow_bearer`).
    /// nauth-rs extension; NAuth does not expose it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disallow_bearer: Option<bool>,
}

/// JetStream limits of an account, or of one JetStream tier.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JetStreamLimits {
    /// Memory storage in bytes; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub mem_storage: Option<i64>,
    /// File storage in bytes; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub disk_storage: Option<i64>,
    /// Maximum streams; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub streams: Option<i64>,
    /// Maximum consumers; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub consumer: Option<i64>,
    /// Maximum pending acks per consumer; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub max_ack_pending: Option<i64>,
    /// Largest memory stream in bytes; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub mem_max_stream_bytes: Option<i64>,
    /// Largest file stream in bytes; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub disk_max_stream_bytes: Option<i64>,
    /// Whether streams must declare a maximum size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub max_bytes_required: Option<bool>,
}

/// Schema of `jetStreamTieredLimits`: a tier states exactly what it sets, because the JWT's
/// unset tier limit (0, disabled) differs from NAuth's `-1` default for the untiered limits.
pub(crate) fn tiered_limits_schema(generator: &mut SchemaGenerator) -> Schema {
    without_defaults(generator.subschema_for::<BTreeMap<String, JetStreamLimits>>())
}

/// Where and when a user may connect (JWT `src`, `times`, `times_location`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserLimits {
    /// Source networks in CIDR notation the user may connect from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<Vec<String>>,
    /// Daily time windows in which the user may connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<Vec<TimeRange>>,
    /// IANA time zone of `times`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times_location: Option<String>,
}

/// A daily window `start`–`end`; NATS requires `HH:MM:SS`, which signing checks.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TimeRange {
    /// Start of the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// End of the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}
