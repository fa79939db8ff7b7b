//! Status fields every kind has.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Conditions and reconcile bookkeeping, flattened into each kind's status.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileStatus {
    /// Standard conditions, one per `type` (`Ready` and the kind's sub-conditions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// `metadata.generation` the status describes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the object was last reconciled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconcile_timestamp: Option<Time>,
    /// Version of the operator that wrote the status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_version: Option<String>,
}

/// `metav1.Condition` list as controller-gen emits it: k8s-openapi's schema of `Condition` lacks
/// the validation markers of the Go type, and the list is a map keyed by `type`.
fn conditions_schema(generator: &mut SchemaGenerator) -> Schema {
    let mut condition = generator.subschema_for::<Condition>();
    let constraints = [
        ("lastTransitionTime", json!({ "format": "date-time" })),
        ("message", json!({ "maxLength": 32768 })),
        ("observedGeneration", json!({ "minimum": 0 })),
        (
            "reason",
            json!({
                "maxLength": 1024,
                "minLength": 1,
                "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
            }),
        ),
        ("status", json!({ "enum": ["True", "False", "Unknown"] })),
        (
            "type",
            json!({
                "maxLength": 316,
                "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
            }),
        ),
    ];
    if let Some(properties) = condition
        .get_mut("properties")
        .and_then(|p| p.as_object_mut())
    {
        for (name, extra) in constraints {
            if let (Some(property), Some(extra)) = (
                properties.get_mut(name).and_then(|p| p.as_object_mut()),
                extra.as_object(),
            ) {
                property.extend(extra.clone());
            }
        }
    }
    schemars::json_schema!({
        "type": "array",
        "items": condition,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
    })
}
