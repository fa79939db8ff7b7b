//! Account, connection and JetStream limits (Go's `OperatorLimits` and its parts).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::json::{is_false, is_zero};
use super::validation::ValidationResults;

/// Go's `NoLimit`.
pub const NO_LIMIT: i64 = -1;

/// Go's `NatsLimits`: subscriptions, data and payload caps (-1 = unlimited, 0 = Go's zero/unset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NatsLimits {
    /// Max subscriptions.
    #[serde(skip_serializing_if = "is_zero")]
    pub subs: i64,
    /// Max bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub data: i64,
    /// Max message payload.
    #[serde(skip_serializing_if = "is_zero")]
    pub payload: i64,
}

impl NatsLimits {
    /// All three unlimited, as Go's constructors set them.
    pub const UNLIMITED: NatsLimits = NatsLimits {
        subs: NO_LIMIT,
        data: NO_LIMIT,
        payload: NO_LIMIT,
    };
}

/// Go's `AccountLimits`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountLimits {
    /// Max imports.
    #[serde(skip_serializing_if = "is_zero")]
    pub imports: i64,
    /// Max exports.
    #[serde(skip_serializing_if = "is_zero")]
    pub exports: i64,
    /// Wildcard exports allowed (JSON `wildcards`).
    #[serde(rename = "wildcards", skip_serializing_if = "is_false")]
    pub wildcard_exports: bool,
    /// User JWTs may not be bearer tokens.
    #[serde(skip_serializing_if = "is_false")]
    pub disallow_bearer: bool,
    /// Max active connections.
    #[serde(skip_serializing_if = "is_zero")]
    pub conn: i64,
    /// Max leaf node connections (JSON `leaf`).
    #[serde(rename = "leaf", skip_serializing_if = "is_zero")]
    pub leaf_node_conn: i64,
}

impl AccountLimits {
    /// Everything unlimited and wildcards allowed, as `NewAccountClaims` sets it.
    pub const UNLIMITED: AccountLimits = AccountLimits {
        imports: NO_LIMIT,
        exports: NO_LIMIT,
        wildcard_exports: true,
        disallow_bearer: false,
        conn: NO_LIMIT,
        leaf_node_conn: NO_LIMIT,
    };
}

/// Go's `JetStreamLimits`; all zero means JetStream is disabled for the account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JetStreamLimits {
    /// Memory storage bytes (0 disables).
    #[serde(skip_serializing_if = "is_zero")]
    pub mem_storage: i64,
    /// Disk storage bytes (0 disables).
    #[serde(skip_serializing_if = "is_zero")]
    pub disk_storage: i64,
    /// Max streams.
    #[serde(skip_serializing_if = "is_zero")]
    pub streams: i64,
    /// Max consumers.
    #[serde(skip_serializing_if = "is_zero")]
    pub consumer: i64,
    /// Max ack pending per consumer.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_ack_pending: i64,
    /// Max bytes of one memory stream.
    #[serde(skip_serializing_if = "is_zero")]
    pub mem_max_stream_bytes: i64,
    /// Max bytes of one disk stream.
    #[serde(skip_serializing_if = "is_zero")]
    pub disk_max_stream_bytes: i64,
    /// Streams must declare max bytes.
    #[serde(skip_serializing_if = "is_false")]
    pub max_bytes_required: bool,
}

/// Go's `OperatorLimits`: the account `limits` object, parts flattened in Go's order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OperatorLimits {
    /// Subscriptions, data, payload.
    #[serde(flatten)]
    pub nats: NatsLimits,
    /// Imports, exports, connections.
    #[serde(flatten)]
    pub account: AccountLimits,
    /// Untiered JetStream limits; must stay zero when `tiered_limits` is used.
    #[serde(flatten)]
    pub jetstream: JetStreamLimits,
    /// JetStream limits per replication tier (e.g. `R1`, `R3`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tiered_limits: BTreeMap<String, JetStreamLimits>,
}

impl OperatorLimits {
    /// Go's `IsEmpty`: every limit zero.
    pub fn is_empty(&self) -> bool {
        *self == OperatorLimits::default()
    }

    /// Go's `IsJSEnabled`: some tier (or the untiered limits) grants memory or disk storage.
    pub fn is_jetstream_enabled(&self) -> bool {
        let enabled = |l: &JetStreamLimits| l.mem_storage != 0 || l.disk_storage != 0;
        if self.tiered_limits.is_empty() {
            enabled(&self.jetstream)
        } else {
            self.tiered_limits.values().any(enabled)
        }
    }

    /// Go's `OperatorLimits.Validate`.
    pub fn validate(&self, vr: &mut ValidationResults) {
        if self.tiered_limits.is_empty() {
            return;
        }
        if self.jetstream != JetStreamLimits::default() {
            vr.add_error("JetStream Limits and tiered JetStream Limits are mutually exclusive");
        }
        if self.tiered_limits.contains_key("") {
            vr.add_error(r#"Tiered JetStream Limits can not contain a blank "" tier name"#);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::to_go_json;

    #[test]
    fn flattened_in_go_order() {
        let mut l = OperatorLimits {
            nats: NatsLimits::UNLIMITED,
            account: AccountLimits::UNLIMITED,
            ..Default::default()
        };
        l.tiered_limits.insert(
            "R1".into(),
            JetStreamLimits {
                disk_storage: 1,
                ..Default::default()
            },
        );
        let json = String::from_utf8(to_go_json(&l).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"subs":-1,"data":-1,"payload":-1,"imports":-1,"exports":-1,"wildcards":true,"conn":-1,"leaf":-1,"tiered_limits":{"R1":{"disk_storage":1}}}"#
        );
        assert!(l.is_jetstream_enabled());
        assert!(!OperatorLimits::default().is_jetstream_enabled());
    }

    #[test]
    fn tiers_exclude_untiered_jetstream_limits() {
        let mut l = OperatorLimits::default();
        l.jetstream.disk_storage = 5;
        l.tiered_limits
            .insert(String::new(), JetStreamLimits::default());
        let mut vr = ValidationResults::default();
        l.validate(&mut vr);
        assert_eq!(
            vr.errors(),
            vec![
                "JetStream Limits and tiered JetStream Limits are mutually exclusive",
                r#"Tiered JetStream Limits can not contain a blank "" tier name"#,
            ]
        );
    }
}
