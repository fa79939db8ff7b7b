//! What the API server does to a custom resource on its way in, done to files the same way:
//! schema defaults filled in, and unknown fields found (the server prunes them).
//!
//! An object read from a file must render to the same bytes as the same object read back from a
//! cluster, where the API server has filled in every schema default of the CRD (for example
//! `memMaxStreamBytes: -1` inside a present `jetStreamLimits`). So the renderer applies the
//! defaults of our generated CRDs first: for every object present in the input, each absent
//! property that has a default gets it; absent objects stay absent. A field the schema does not
//! know would be dropped by the server, so a misspelt limit would silently not apply: such
//! fields are reported.

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

/// Paths (`spec.userLimits.subs`) of the fields in `value` that `schema` does not declare,
/// where the schema lists its properties and keeps no unknown fields.
pub fn unknown_fields(schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_unknown(schema, value, "", &mut found);
    found
}

fn collect_unknown(schema: &Value, value: &Value, path: &str, found: &mut Vec<String>) {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(map) => {
            let keeps_unknown = schema
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let properties = schema.get("properties").and_then(Value::as_object);
            let values = schema.get("additionalProperties").filter(|s| s.is_object());
            for (key, child) in map {
                match (properties.and_then(|p| p.get(key)), values) {
                    (Some(property), _) => collect_unknown(property, child, &at(key), found),
                    (None, Some(values)) => collect_unknown(values, child, &at(key), found),
                    (None, None) if properties.is_some() && !keeps_unknown => found.push(at(key)),
                    (None, None) => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    collect_unknown(item_schema, item, &format!("{path}[{i}]"), found);
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
                },
                "metadata": {"type": "object"},
                "free": {"type": "object", "properties": {}, "x-kubernetes-preserve-unknown-fields": true}
            }
        })
    }

    #[test]
    fn unknown_fields_are_named_by_path_where_the_schema_lists_its_properties() {
        let v = json!({
            "limits": {"conn": 5, "con": 6},
            "rules": [{"kind": "A"}, {"knd": "B"}],
            "tiers": {"R1": {"n": 1, "m": 2}},
            "metadata": {"anything": 1},
            "free": {"anything": 1},
            "extra": true
        });
        assert_eq!(
            unknown_fields(&schema(), &v),
            ["extra", "limits.con", "rules[1].knd", "tiers.R1.m"]
        );
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
