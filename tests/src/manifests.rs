//! Example manifests as JSON values, and the check that the server kept what they say.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One YAML document of a manifest file, with the file it came from for error messages.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file the document was read from.
    pub source: PathBuf,
    /// The document as JSON.
    pub object: Value,
}

impl Manifest {
    /// `apiVersion` of the object, or "" when absent.
    pub fn api_version(&self) -> &str {
        self.object["apiVersion"].as_str().unwrap_or_default()
    }

    /// `kind` of the object, or "" when absent.
    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    /// `metadata.name`, or "" when absent.
    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// `metadata.namespace`, or "" for objects that name none.
    pub fn namespace(&self) -> &str {
        self.object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
    }

    /// `path: Kind/name`, how failures name the object.
    pub fn label(&self) -> String {
        format!("{}: {}/{}", self.source.display(), self.kind(), self.name())
    }
}

/// Every document of every `*.yaml`/`*.yml` file under `dir` (recursively, sorted by path).
/// Empty documents (a leading `---`) are skipped.
pub fn load_dir(dir: &Path) -> Vec<Manifest> {
    let mut files = Vec::new();
    collect_yaml_files(dir, &mut files);
    files.sort();
    files
        .into_iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
                .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
            docs.into_iter()
                .filter(|doc| !doc.is_null())
                .map(move |object| Manifest {
                    source: path.clone(),
                    object,
                })
        })
        .collect()
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            collect_yaml_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// Where `actual` fails to contain `expected`: the JSON path and both values, or `None`.
///
/// Objects may gain keys (the server fills in CRD defaults) but must keep every given key with
/// an equal value; arrays must match element by element; scalars must be equal. So a field our
/// schema prunes or rewrites shows up here, while defaulting does not.
pub fn not_contained(expected: &Value, actual: &Value) -> Option<String> {
    diff_at("", expected, actual)
}

fn diff_at(path: &str, expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => want.iter().find_map(|(key, want)| {
            let at = format!("{path}.{key}");
            match have.get(key) {
                Some(have) => diff_at(&at, want, have),
                None => Some(format!("{at}: {want} was dropped")),
            }
        }),
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => want
            .iter()
            .zip(have)
            .enumerate()
            .find_map(|(i, (want, have))| diff_at(&format!("{path}[{i}]"), want, have)),
        _ if expected == actual => None,
        _ => Some(format!("{path}: expected {expected}, got {actual}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::not_contained;

    #[test]
    fn defaults_added_by_the_server_are_fine() {
        let given = json!({"a": {"b": 1}, "l": [{"x": "y"}]});
        let stored = json!({"a": {"b": 1, "c": -1}, "l": [{"x": "y", "z": true}]});
        assert_eq!(not_contained(&given, &stored), None);
    }

    #[test]
    fn dropped_or_changed_fields_are_reported_with_their_path() {
        let given = json!({"a": {"b": 1, "gone": "x"}, "l": [1, 2]});
        assert_eq!(
            not_contained(&given, &json!({"a": {"b": 1}, "l": [1, 2]})).as_deref(),
            Some(".a.gone: \"x\" was dropped")
        );
        assert_eq!(
            not_contained(&given, &json!({"a": {"b": 2, "gone": "x"}, "l": [1, 2]})).as_deref(),
            Some(".a.b: expected 1, got 2")
        );
        assert_eq!(
            not_contained(&given, &json!({"a": {"b": 1, "gone": "x"}, "l": [1]})).as_deref(),
            Some(".l: expected [1,2], got [1]")
        );
    }
}
