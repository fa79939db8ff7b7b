//! The CustomResourceDefinitions of the six kinds, generated from the types.
//!
//! kube's derive yields the schema of the Rust types; two adjustments make it the schema NAuth's
//! controller-gen CRDs have, which the compatibility test checks path by path:
//! - no `nullable: true`: kube marks every `Option` field nullable, but with it the API server
//!   keeps an explicit `null` instead of pruning it and applying the field's default;
//! - the root has no `title`, lists `apiVersion`, `kind` and `metadata` and requires nothing, so an object
//!   without `spec` is accepted as NAuth accepts it;
//! - `listKind` is stated, as controller-gen does, rather than left to the API server's default.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kube::CustomResourceExt;
use serde_json::{Value, json};

use super::{Account, AccountExport, AccountImport, AccountSigningKey, NatsCluster, User};

/// All six CRDs, sorted by name: what a cluster needs before any NAuth object is applied.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut crds: Vec<_> = [
        Account::crd(),
        AccountExport::crd(),
        AccountImport::crd(),
        AccountSigningKey::crd(),
        NatsCluster::crd(),
        User::crd(),
    ]
    .into_iter()
    .map(like_controller_gen)
    .collect();
    crds.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    crds
}

/// [`crds`] as one multi-document YAML stream; byte-identical on every call.
pub fn crds_yaml() -> String {
    serde_saphyr::to_string_multiple(&crds()).expect("CRDs serialize to YAML")
}

fn like_controller_gen(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    crd.spec.names.list_kind = Some(format!("{}List", crd.spec.names.kind));
    for version in &mut crd.spec.versions {
        let Some(props) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        let mut schema = serde_json::to_value(&*props).expect("schema serializes");
        remove_nullable(&mut schema);
        if let Some(root) = schema.as_object_mut() {
            root.remove("required");
            root.remove("title");
            if let Some(properties) = root.get_mut("properties").and_then(Value::as_object_mut) {
                properties.insert("apiVersion".into(), json!({ "type": "string" }));
                properties.insert("kind".into(), json!({ "type": "string" }));
                properties.insert("metadata".into(), json!({ "type": "object" }));
            }
        }
        *props = serde_json::from_value::<JSONSchemaProps>(schema).expect("schema deserializes");
    }
    crd
}

fn remove_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("nullable");
            map.values_mut().for_each(remove_nullable);
        }
        Value::Array(items) => items.iter_mut().for_each(remove_nullable),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::KINDS;

    #[test]
    fn one_crd_per_kind_named_after_its_plural() {
        let names: Vec<_> = crds().into_iter().filter_map(|c| c.metadata.name).collect();
        let mut expected: Vec<_> = KINDS
            .iter()
            .map(|k| format!("{}.nauth.io", k.plural()))
            .collect();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn yaml_is_deterministic_and_parses_back() {
        let yaml = crds_yaml();
        assert_eq!(yaml, crds_yaml());
        let parsed: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&yaml).unwrap();
        assert_eq!(parsed, crds());
    }

    #[test]
    fn no_nullable_anywhere() {
        let yaml = crds_yaml();
        assert!(!yaml.contains("nullable"), "{yaml}");
    }
}
