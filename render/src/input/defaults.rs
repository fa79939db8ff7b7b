//! Schema defaults, applied the way the API server applies them to stored objects.
//!
//! An object read from a file must render to the same bytes as the same object read back from a
//! cluster, where the API server has filled in every schema default of the CRD (for example
//! `memMaxStreamBytes: -1` inside a present `jetStreamLimits`). So the renderer applies the
//! defaults of our generated CRDs first: for every object present in the input, each absent
//! property that has a default gets it; absent objects stay absent.

use serde_json::Value;

/// Fills in the defaults of `schema` (an OpenAPI v3 schema as JSON) into `value`, recursively.
pub fn apply(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    if !map.contains_key(name)
                        && let Some(default) = property.get("default")
                    {
                        map.insert(name.clone(), default.clone());
                    }
                    if let Some(child) = map.get_mut(name) {
                        apply(property, child);
                    }
                }
            }
            if let Some(values) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                for child in map.values_mut() {
                    apply(values, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    apply(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "limits": {
                    "type": "object",
                    "properties": {
                        "conn": {"type": "integer", "default": -1},
                        "wildcards": {"type": "boolean", "default": true}
                    }
                },
                "rules": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"kind": {"type": "string", "default": "A"}}}
                },
                "tiers": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"n": {"default": 0}}}
                }
            }
        })
    }

    #[test]
    fn defaults_fill_present_objects_only() {
        let mut v = json!({});
        apply(&schema(), &mut v);
        assert_eq!(v, json!({}));

        let mut v =
            json!({"limits": {"conn": 5}, "rules": [{}, {"kind": "B"}], "tiers": {"R1": {}}});
        apply(&schema(), &mut v);
        assert_eq!(
            v,
            json!({
                "limits": {"conn": 5, "wildcards": true},
                "rules": [{"kind": "A"}, {"kind": "B"}],
                "tiers": {"R1": {"n": 0}}
            })
        );
    }
}
