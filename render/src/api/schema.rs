//! Schema pieces that derive attributes cannot express.

use schemars::{Schema, SchemaGenerator, json_schema};

/// A bare `type: integer`, as controller-gen emits for Go `int` and `uint`.
///
/// Rust integer types carry a `format` (`int64`, `uint64`) and unsigned ones a `minimum`; NAuth's
/// CRDs have neither on these fields, and the compatibility test holds us to the same schema.
/// (An optional field using any `schema_with` function needs `#[serde(default)]`, or schemars
/// lists it as required.)
pub(crate) fn integer(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer" })
}

/// Removes every `default` below `schema`, for a type reused where the API server must not fill
/// anything in.
pub(crate) fn without_defaults(mut schema: Schema) -> Schema {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("default");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    if let Some(map) = schema.as_object_mut() {
        map.values_mut().for_each(strip);
    }
    schema
}
