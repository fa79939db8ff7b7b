//! Subject permissions and connection restrictions, for users, signing-key templates and an
//! account's default permissions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;
use super::{NatsLimits, UserLimits};

/// Publish, subscribe and response permissions (JWT `pub`, `sub`, `resp`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct Permissions {
    /// Subjects the holder may publish to.
    #[serde(rename = "pub", skip_serializing_if = "Option::is_none")]
    pub publish: Option<Permission>,
    /// Subjects the holder may subscribe to.
    #[serde(rename = "sub", skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Permission>,
    /// Permission to reply to requests received on allowed subscriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resp: Option<ResponsePermission>,
}

/// Allow and deny lists of subjects.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct Permission {
    /// Subjects allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    /// Subjects denied, taking precedence over `allow`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny: Option<Vec<String>>,
}

/// How many replies, for how long, a holder may send to a request's reply subject.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct ResponsePermission {
    /// Maximum number of replies per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::integer")]
    pub max: Option<i64>,
    /// Time the reply permission lasts, in nanoseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

/// A kind of client connection a user may be limited to (JWT `allowed_connection_types`).
/// nauth-rs extension.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectionType {
    /// Plain NATS client connection.
    Standard,
    /// NATS over WebSocket.
    Websocket,
    /// Leaf-node connection.
    Leafnode,
    /// Leaf-node connection over WebSocket.
    LeafnodeWs,
    /// MQTT client.
    Mqtt,
    /// MQTT over WebSocket.
    MqttWs,
    /// In-process connection of an embedding application.
    InProcess,
}

/// What a user may do and how much: a User's own permissions and limits, or the template a
/// scoped signing key imposes on the users it signs.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserPermissionLimits {
    /// Subject permissions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// Source network and time-of-day restrictions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_limits: Option<UserLimits>,
    /// Per-connection message limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_limits: Option<NatsLimits>,
    /// The JWT alone authenticates, without proving possession of the seed (JWT
    /// `bearer_token`). nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<bool>,
    /// Connection types the user may use; all when absent (JWT `allowed_connection_types`).
    /// nauth-rs extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_connection_types: Option<Vec<ConnectionType>>,
}
