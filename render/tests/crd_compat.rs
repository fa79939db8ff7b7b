//! Our generated CRDs against NAuth's, schema path by schema path.
//!
//! Everything the API server uses to accept, default or print an object must match NAuth's
//! controller-gen output; descriptions may differ and our schemas may add optional properties
//! (the nauth-rs extensions).

use std::collections::BTreeSet;
use std::path::Path;

use nauth_render::api::{KINDS, crds};
use serde_json::Value;

/// Keywords compared as unordered sets rather than as values.
const SET_KEYWORDS: [&str; 2] = ["required", "enum"];
/// Keywords that hold subschemas (walked) or prose (ignored).
const WALKED_OR_IGNORED: [&str; 4] = ["properties", "items", "additionalProperties", "description"];

#[path = "common/conformance.rs"]
mod conformance;

/// NAuth's CRD of `plural`, from the conformance directory `dir`.
fn nauth_crd(dir: &Path, plural: &str) -> Value {
    let file = dir.join(format!("nauth.io_{plural}.yaml"));
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", file.display()))
}

fn ours(name: &str) -> Value {
    let crd = crds()
        .into_iter()
        .find(|c| c.metadata.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no generated CRD named {name}"));
    serde_json::to_value(crd).unwrap()
}

fn string_set(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| v.to_string())
        .collect()
}

/// JSON equality, except that numbers compare by value: `JSONSchemaProps` holds `minimum` and
/// `maximum` as floats, so ours serialize as `0.0` where NAuth's YAML says `0`.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Records every difference between NAuth's schema `theirs` and ours at `path`.
fn compare_schema(path: &str, theirs: &Value, ours: &Value, diffs: &mut Vec<String>) {
    let (Some(t), Some(o)) = (theirs.as_object(), ours.as_object()) else {
        diffs.push(format!(
            "{path}: not both schemas objects: NAuth {theirs}, ours {ours}"
        ));
        return;
    };
    let keywords: BTreeSet<&String> = t.keys().chain(o.keys()).collect();
    for keyword in keywords {
        let k = keyword.as_str();
        if WALKED_OR_IGNORED.contains(&k) {
            continue;
        }
        if SET_KEYWORDS.contains(&k) {
            let (ts, os) = (string_set(t.get(k)), string_set(o.get(k)));
            if ts != os {
                diffs.push(format!("{path}: {k} differs: NAuth {ts:?}, ours {os:?}"));
            }
        } else if !same(t.get(k), o.get(k)) {
            diffs.push(format!(
                "{path}: {k} differs: NAuth {}, ours {}",
                t.get(k).map_or("absent".into(), Value::to_string),
                o.get(k).map_or("absent".into(), Value::to_string)
            ));
        }
    }

    let empty = serde_json::Map::new();
    let tp = t
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let op = o
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let our_required = string_set(o.get("required"));
    for (name, their_sub) in tp {
        match op.get(name) {
            Some(our_sub) => compare_schema(&format!("{path}.{name}"), their_sub, our_sub, diffs),
            None => diffs.push(format!("{path}.{name}: missing from our schema")),
        }
    }
    for name in op.keys().filter(|n| !tp.contains_key(*n)) {
        if our_required.contains(&Value::String(name.clone()).to_string()) {
            diffs.push(format!("{path}.{name}: extra property of ours is required"));
        }
    }

    for (keyword, suffix) in [("items", "[]"), ("additionalProperties", "{}")] {
        match (t.get(keyword), o.get(keyword)) {
            (Some(ts), Some(os)) => compare_schema(&format!("{path}{suffix}"), ts, os, diffs),
            (None, None) => {}
            (ts, _) => diffs.push(format!(
                "{path}: {keyword} present in {} only",
                if ts.is_some() { "NAuth" } else { "ours" }
            )),
        }
    }
}

/// Records differences in the CRD envelope: names, scope, versions, columns, subresources.
fn compare_envelope(theirs: &Value, ours: &Value, diffs: &mut Vec<String>) {
    let fields = [
        "/metadata/name",
        "/spec/group",
        "/spec/names/kind",
        "/spec/names/listKind",
        "/spec/names/plural",
        "/spec/names/singular",
        "/spec/names/shortNames",
        "/spec/names/categories",
        "/spec/scope",
        "/spec/conversion",
    ];
    for pointer in fields {
        if theirs.pointer(pointer) != ours.pointer(pointer) {
            diffs.push(format!(
                "{pointer}: NAuth {:?}, ours {:?}",
                theirs.pointer(pointer),
                ours.pointer(pointer)
            ));
        }
    }
    let versions = |v: &Value| {
        v.pointer("/spec/versions")
            .and_then(Value::as_array)
            .cloned()
    };
    let (Some(tv), Some(ov)) = (versions(theirs), versions(ours)) else {
        diffs.push("/spec/versions: missing".into());
        return;
    };
    if tv.len() != ov.len() {
        diffs.push(format!(
            "/spec/versions: NAuth has {}, ours {}",
            tv.len(),
            ov.len()
        ));
        return;
    }
    for (i, (t, o)) in tv.iter().zip(&ov).enumerate() {
        for field in [
            "name",
            "served",
            "storage",
            "deprecated",
            "additionalPrinterColumns",
            "subresources",
            "selectableFields",
        ] {
            if t.get(field) != o.get(field) {
                diffs.push(format!(
                    "/spec/versions/{i}/{field}: NAuth {:?}, ours {:?}",
                    t.get(field),
                    o.get(field)
                ));
            }
        }
        match (
            t.pointer("/schema/openAPIV3Schema"),
            o.pointer("/schema/openAPIV3Schema"),
        ) {
            (Some(ts), Some(os)) => compare_schema("", ts, os, diffs),
            _ => diffs.push(format!("/spec/versions/{i}/schema: missing")),
        }
    }
}

#[test]
fn generated_crds_match_nauth() {
    let Some(dir) = conformance::dir("nauth-crds") else {
        return;
    };
    let mut failures = Vec::new();
    for kind in KINDS {
        let plural = kind.plural();
        let mut diffs = Vec::new();
        compare_envelope(
            &nauth_crd(&dir, &plural),
            &ours(&format!("{plural}.nauth.io")),
            &mut diffs,
        );
        if !diffs.is_empty() {
            failures.push(format!("{kind}:\n  {}", diffs.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "CRDs differ from NAuth's:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_comparison_notices_differences() {
    let theirs = serde_json::json!({
        "type": "object", "required": ["a"],
        "properties": {"a": {"type": "integer", "default": -1}, "b": {"type": "string"}}
    });
    let ours = serde_json::json!({
        "type": "object", "required": ["a", "c"],
        "properties": {"a": {"type": "integer", "default": 0}, "c": {"type": "string"}}
    });
    let mut diffs = Vec::new();
    compare_schema("", &theirs, &ours, &mut diffs);
    assert_eq!(
        diffs,
        [
            r#": required differs: NAuth {"\"a\""}, ours {"\"a\"", "\"c\""}"#,
            ".a: default differs: NAuth -1, ours 0",
            ".b: missing from our schema",
            ".c: extra property of ours is required",
        ]
    );
}
