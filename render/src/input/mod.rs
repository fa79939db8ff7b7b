//! Reading custom resources and key Secrets from YAML text into typed, defaulted objects.
//!
//! Every document is checked the way the API server would check it (schema defaults, types,
//! enums, patterns, CEL rules), so a manifest that renders here is one the cluster accepts, and
//! a mistake is reported with its file, object and field instead of surfacing later as a
//! different JWT.

pub mod names;
pub mod nats_url;
pub mod shared;
pub mod structural;
pub mod yaml_error;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::LazyLock;

use k8s_openapi::api::core::v1::Secret;
use kube::Resource;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{self, Kind};
use crate::diagnostic::{Code, Diagnostic, ObjectRef};

/// The namespace of objects whose manifest names none, as `kubectl apply` would use it with a
/// default context.
pub const DEFAULT_NAMESPACE: &str = "default";

/// An object and the file it came from.
#[derive(Clone, Debug)]
pub struct Object<T> {
    /// The file (`-` for standard input).
    pub file: String,
    /// The object, with schema defaults applied.
    pub resource: T,
}

impl<T: Resource<DynamicType = ()>> Object<T> {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        let meta = self.resource.meta();
        format!(
            "{}/{}",
            meta.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE),
            meta.name.as_deref().unwrap_or_default()
        )
    }

    /// Whether `key` is this object's `namespace/name`. Compares without building the key:
    /// references are resolved per referring object, so allocating here costs the tree squared.
    pub fn has_key(&self, key: &str) -> bool {
        key.strip_prefix(self.namespace())
            .and_then(|rest| rest.strip_prefix('/'))
            == Some(self.name())
    }

    /// The namespace (always set by loading).
    pub fn namespace(&self) -> &str {
        self.resource
            .meta()
            .namespace
            .as_deref()
            .unwrap_or(DEFAULT_NAMESPACE)
    }

    /// The name.
    pub fn name(&self) -> &str {
        self.resource.meta().name.as_deref().unwrap_or_default()
    }

    /// A diagnostic located at this object.
    pub fn error(&self, field: Option<&str>, message: impl Into<String>) -> Diagnostic {
        locate(Diagnostic::error(message), self, field)
    }

    /// A warning located at this object.
    pub fn warning(&self, field: Option<&str>, message: impl Into<String>) -> Diagnostic {
        locate(Diagnostic::warning(message), self, field)
    }

    /// A label's value.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.resource
            .meta()
            .labels
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }

    /// This object as diagnostics refer to it.
    pub fn reference(&self) -> ObjectRef {
        ObjectRef {
            kind: T::kind(&()).to_string(),
            namespace: self.namespace().to_string(),
            name: self.name().to_string(),
        }
    }

    /// An annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.resource
            .meta()
            .annotations
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }
}

fn locate<T: Resource<DynamicType = ()>>(
    d: Diagnostic,
    o: &Object<T>,
    field: Option<&str>,
) -> Diagnostic {
    let d = d.in_file(&o.file).about(o.reference());
    match field {
        Some(f) => d.at_field(f),
        None => d,
    }
}

/// Everything the renderer reads, by kind, in input order.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Accounts.
    pub accounts: Vec<Object<api::Account>>,
    /// Users.
    pub users: Vec<Object<api::User>>,
    /// AccountExports.
    pub exports: Vec<Object<api::AccountExport>>,
    /// AccountImports.
    pub imports: Vec<Object<api::AccountImport>>,
    /// AccountSigningKeys.
    pub signing_keys: Vec<Object<api::AccountSigningKey>>,
    /// NatsClusters.
    pub clusters: Vec<Object<api::NatsCluster>>,
    /// Secrets: the key material (account seeds, signing keys, existing user creds).
    pub secrets: Vec<Object<Secret>>,
    /// Documents left out because they are encrypted with SOPS, as warnings: commands that sign
    /// show them (a key they hold is not used), commands that need no key ignore them.
    pub encrypted: Vec<Diagnostic>,
}

/// What a file may contribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Contents {
    /// Custom resources and Secrets.
    Everything,
    /// Only Secrets (`--keys`); anything else is ignored with a warning.
    SecretsOnly,
}

static SCHEMAS: LazyLock<BTreeMap<String, Value>> = LazyLock::new(|| {
    api::crds()
        .into_iter()
        .filter_map(|crd| {
            let kind = crd.spec.names.kind.clone();
            let schema = crd
                .spec
                .versions
                .into_iter()
                .next()?
                .schema?
                .open_api_v3_schema?;
            Some((kind, serde_json::to_value(schema).ok()?))
        })
        .collect()
});

impl Inputs {
    /// Adds the documents of one YAML file (multi-document streams and `v1 List`s included).
    /// Returns its problems; objects with errors are left out.
    pub fn add_yaml(&mut self, file: &str, text: &str, contents: Contents) -> Vec<Diagnostic> {
        let docs = match documents(text) {
            Ok(docs) => docs,
            Err(e) => {
                return vec![
                    Diagnostic::error(format!("not valid YAML: {}", yaml_error::message(&e)))
                        .in_file(file)
                        .with_code(Code::InvalidYaml),
                ];
            }
        };
        let mut problems: Vec<Diagnostic> = docs
            .into_iter()
            .flat_map(list_items)
            .flat_map(|doc| self.add_document(file, doc, contents))
            .collect();
        // Documents alike (every one of a fully encrypted file) share one message.
        problems.dedup();
        problems
    }

    /// Adds one already parsed document (for example an item of a KRM `ResourceList`) and
    /// returns its problems.
    pub fn add_document(&mut self, file: &str, doc: Value, contents: Contents) -> Vec<Diagnostic> {
        self.classify(file, doc, contents)
            .unwrap_or_else(|problem| vec![problem])
    }

    /// Parses a document's envelope; the typed object's own problems (and warnings) come back
    /// inside `Ok`.
    fn classify(
        &mut self,
        file: &str,
        mut doc: Value,
        contents: Contents,
    ) -> Result<Vec<Diagnostic>, Diagnostic> {
        let type_of = |field: &str| {
            doc.get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (api_version, kind) = (type_of("apiVersion"), type_of("kind"));
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let described = format!("{kind} {name}");
        if !doc.is_object() {
            return Err(
                Diagnostic::warning("ignored: not a Kubernetes object (a mapping)")
                    .in_file(file)
                    .with_code(Code::Ignored),
            );
        }
        if is_sops_encrypted(&doc) {
            return self.encrypted(file, &api_version, &kind, described);
        }
        if api_version.is_empty() || kind.is_empty() {
            // kustomization.yaml, values.yaml, package.json: files that share the tree.
            return Err(Diagnostic::warning(
                "ignored: not a Kubernetes object (it has no apiVersion and kind)",
            )
            .in_file(file)
            .with_code(Code::Ignored));
        }
        if kind == "List" {
            return Err(Diagnostic::warning(
                "ignored: a List inside a List is not read; list its items directly",
            )
            .in_file(file)
            .with_code(Code::Ignored));
        }
        if (api_version.as_str(), kind.as_str()) == (api::API_VERSION, FUNCTION_CONFIG_KIND) {
            // The KRM function's own configuration sits next to the resources it renders.
            return Ok(Vec::new());
        }
        let namespace = doc
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or(DEFAULT_NAMESPACE)
            .to_string();
        let located = ObjectRef {
            kind: kind.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
        };
        let nauth_kind = if (api_version.as_str(), kind.as_str()) == ("v1", "Secret") {
            None
        } else {
            let ignored = || not_an_input(file, &api_version, &kind, located.to_string());
            if contents == Contents::SecretsOnly {
                return Err(ignored());
            }
            // Dropping an object of NAuth's group would drop its lock entries and so its JWTs:
            // a typo in its type must not read as "no such object".
            Some(Kind::from_type(&api_version, &kind).ok_or_else(|| {
                match not_nauth(&api_version, &kind) {
                    None => ignored(),
                    Some((field, rule)) => Diagnostic::error(rule)
                        .in_file(file)
                        .about(located.clone())
                        .at_field(field)
                        .with_code(Code::UnknownKind),
                }
            })?)
        };
        if name.is_empty() {
            return Err(Diagnostic::error("metadata.name is required")
                .in_file(file)
                .in_object(described)
                .with_code(Code::InvalidSpec));
        }
        doc["metadata"]["namespace"] = Value::from(namespace.as_str());
        let Some(kind) = nauth_kind else {
            // A Secret's parse error could quote its data: say where, never what.
            let secret = serde_path_to_error::deserialize(&doc).map_err(|e| {
                Diagnostic::error(secret_problem(&doc, e.path()))
                    .in_file(file)
                    .about(located.clone())
                    .at_field(e.path().to_string())
                    .with_code(Code::InvalidSecret)
            })?;
            self.secrets.push(Object {
                file: file.to_string(),
                resource: secret,
            });
            return Ok(Vec::new());
        };
        let namespace = doc["metadata"]["namespace"].as_str().unwrap_or_default();
        let bad_names: Vec<Diagnostic> = names::problems(kind, namespace, &name)
            .into_iter()
            .map(|(field, rule)| {
                Diagnostic::error(rule)
                    .in_file(file)
                    .about(located.clone())
                    .at_field(field)
                    .with_code(Code::InvalidSpec)
            })
            .collect();
        if !bad_names.is_empty() {
            return Ok(bad_names);
        }
        // `spec` itself is optional in the CRDs; its required fields are reported inside it.
        if doc.get("spec").is_none_or(Value::is_null) {
            doc["spec"] = Value::Object(Default::default());
        }
        let mut warnings = Vec::new();
        if let Some(schema) = SCHEMAS.get(kind.as_str()) {
            structural::apply(schema, &mut doc);
            warnings.extend(
                structural::unknown_fields(schema, &doc)
                    .into_iter()
                    .map(|field| {
                        Diagnostic::warning(
                            "unknown field; the API server drops it, so it has no effect",
                        )
                        .in_file(file)
                        .about(located.clone())
                        .at_field(field)
                        .with_code(Code::UnknownField)
                    }),
            );
        }
        let file = file.to_string();
        let pushed = match kind {
            Kind::Account => push(&mut self.accounts, file, doc, |a: &api::Account| {
                a.spec.validate()
            }),
            Kind::User => push(&mut self.users, file, doc, |u: &api::User| {
                u.spec.validate()
            }),
            Kind::AccountExport => push(&mut self.exports, file, doc, |e: &api::AccountExport| {
                e.spec.validate()
            }),
            Kind::AccountImport => push(&mut self.imports, file, doc, |i: &api::AccountImport| {
                i.spec.validate()
            }),
            Kind::AccountSigningKey => push(
                &mut self.signing_keys,
                file,
                doc,
                |k: &api::AccountSigningKey| k.spec.validate(),
            ),
            Kind::NatsCluster => push(&mut self.clusters, file, doc, |c: &api::NatsCluster| {
                c.spec.validate()
            }),
        };
        warnings.extend(pushed.err().unwrap_or_default());
        Ok(warnings)
    }

    /// A SOPS-encrypted document: a Secret is left out with a warning (commands that need no
    /// key can go on); anything else may hold resources to render, so dropping it would drop
    /// their JWTs, and it is an error.
    fn encrypted(
        &mut self,
        file: &str,
        api_version: &str,
        kind: &str,
        described: String,
    ) -> Result<Vec<Diagnostic>, Diagnostic> {
        let readable = |s: &str| !s.is_empty() && !s.starts_with("ENC[");
        if (api_version, kind) == ("v1", "Secret") {
            // Once per file: its name, often ciphertext too, tells the user nothing more.
            let ignored = Diagnostic::warning(
                "ignored: encrypted with SOPS, so keys in it are not used; pass the output of \
                 `sops -d` with --keys",
            )
            .in_file(file)
            .with_code(Code::Encrypted);
            if !self.encrypted.contains(&ignored) {
                self.encrypted.push(ignored);
            }
            return Ok(Vec::new());
        }
        if readable(api_version) && readable(kind) && not_nauth(api_version, kind).is_none() {
            return Err(not_an_input(file, api_version, kind, described));
        }
        Err(Diagnostic::error(
            "encrypted with SOPS, so the resources it may hold cannot be read and would be \
             dropped with their JWTs; encrypt only Secrets' data (`sops --encrypt \
             --encrypted-regex '^(data|stringData)$'`, as Flux recommends) or pass the output of \
             `sops -d`",
        )
        .in_file(file)
        .with_code(Code::Encrypted))
    }

    /// Objects of one kind that appear more than once.
    pub fn duplicates(&self) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        duplicates_of(&self.accounts, &mut problems);
        duplicates_of(&self.users, &mut problems);
        duplicates_of(&self.exports, &mut problems);
        duplicates_of(&self.imports, &mut problems);
        duplicates_of(&self.signing_keys, &mut problems);
        duplicates_of(&self.clusters, &mut problems);
        duplicates_of(&self.secrets, &mut problems);
        problems
    }
}

/// What is wrong at `path` of a Secret that does not parse, without its value (it may be a
/// key): a `data` value that is a string but not base64, a `data` or `stringData` value that is
/// not a string (YAML reads an unquoted `12345` as a number), or, for anything else, only that
/// the field does not fit a Secret.
fn secret_problem(doc: &Value, path: &serde_path_to_error::Path) -> &'static str {
    use serde_path_to_error::Segment;
    let mut segments = path.iter();
    let (section, key) = match (segments.next(), segments.next()) {
        (Some(Segment::Map { key: section }), Some(Segment::Map { key }))
            if section == "data" || section == "stringData" =>
        {
            (section, key)
        }
        _ => return "not a valid Secret",
    };
    match (section.as_str(), doc[section].get(key)) {
        ("data", Some(Value::String(_))) => {
            "not valid base64: values under data are base64-encoded (put plain text under \
             stringData)"
        }
        ("data", _) => "must be a base64-encoded string",
        _ => "must be a string: quote a value YAML would read as a number or boolean",
    }
}

/// The warning that a document of another kind (a ConfigMap, a Deployment) is left out.
fn not_an_input(file: &str, api_version: &str, kind: &str, object: String) -> Diagnostic {
    Diagnostic::warning(format!(
        "ignored: {api_version} {kind} is not an input of nauth-render"
    ))
    .in_file(file)
    .in_object(object)
    .with_code(Code::Ignored)
}

/// The kind of the KRM function's configuration (`kustomize/krm/`), in NAuth's group but not
/// an input.
const FUNCTION_CONFIG_KIND: &str = "RenderFunction";

/// Why a document that is not one of the six kinds still claims to be NAuth's: `(field, rule)`
/// when its `apiVersion` is in the `nauth.io` group, `None` for anything else.
fn not_nauth(api_version: &str, kind: &str) -> Option<(&'static str, String)> {
    let (group, version) = api_version.split_once('/').unwrap_or((api_version, ""));
    if group != api::GROUP {
        return None;
    }
    Some(if version != api::VERSION {
        (
            "apiVersion",
            format!(
                "{api_version} is not served: the {} kinds are {}",
                api::GROUP,
                api::API_VERSION
            ),
        )
    } else {
        let known: Vec<&str> = api::KINDS.iter().map(|k| k.as_str()).collect();
        (
            "kind",
            format!(
                "{api_version} has no kind {kind:?}; its kinds are {}",
                known.join(", ")
            ),
        )
    })
}

/// The documents of a YAML stream. Errors never quote the text (it may hold keys).
pub fn documents(text: &str) -> Result<Vec<Value>, serde_saphyr::Error> {
    // The parser's default budget (1,024 documents, 250,000 nodes per file) guards against
    // hostile input; manifests of a large tenant tree are trusted and legitimately bigger
    // (`helm template` of thousands of Users is one file). Alias limits, the defence
    // against expansion bombs, stay at their defaults.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = 1 << 22;
    budget.max_nodes = 1 << 28;
    budget.max_events = 1 << 30;
    budget.max_total_scalar_bytes = 1 << 32;
    let options = serde_saphyr::options! { with_snippet: false, budget: Some(budget) };
    serde_saphyr::from_multiple_with_options(text, options)
}

/// Whether a document is SOPS-encrypted: SOPS adds a top-level `sops` mapping (its keys and
/// MAC) and replaces values with `ENC[...]`, which only `sops --decrypt` can read.
pub fn is_sops_encrypted(doc: &Value) -> bool {
    doc.get("sops").is_some_and(Value::is_object)
}

/// Whether any document of a YAML or JSON file is SOPS-encrypted.
pub fn is_sops_encrypted_text(text: &str) -> bool {
    // Most files are not: spare them the parse.
    text.contains("sops") && documents(text).is_ok_and(|docs| docs.iter().any(is_sops_encrypted))
}

/// The items of a `v1 List`, or the document itself.
fn list_items(doc: Value) -> Vec<Value> {
    let is_list = doc.get("kind").and_then(Value::as_str) == Some("List");
    match doc {
        Value::Object(mut map) if is_list => match map.remove("items") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        doc => vec![doc],
    }
}

fn push<T: Resource<DynamicType = ()> + DeserializeOwned>(
    into: &mut Vec<Object<T>>,
    file: String,
    doc: Value,
    validate: impl Fn(&T) -> Vec<api::FieldError>,
) -> Result<(), Vec<Diagnostic>> {
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let namespace = doc
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let resource: T = serde_path_to_error::deserialize(&doc)
        .map_err(|e| {
            let (field, message) = match e.path().to_string() {
                spec if spec == "spec" && T::kind(&()) == "User" => {
                    inside_user_spec(&doc).unwrap_or((spec, e.inner().to_string()))
                }
                field => (field, e.inner().to_string()),
            };
            Diagnostic::error(message)
                .in_file(&file)
                .about(ObjectRef {
                    kind: T::kind(&()).to_string(),
                    namespace,
                    name,
                })
                .at_field(field)
                .with_code(Code::InvalidSpec)
        })
        .map_err(|d| vec![d])?;
    let object = Object { file, resource };
    let errors: Vec<_> = validate(&object.resource)
        .into_iter()
        .map(|e| (object.error(Some(&e.path), e.rule)).with_code(Code::InvalidSpec))
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    into.push(object);
    Ok(())
}

/// The field and message of a type error among a User's permissions and limits: serde reads
/// them through `#[serde(flatten)]`, which loses the path below `spec`, so they are read again
/// on their own.
fn inside_user_spec(doc: &Value) -> Option<(String, String)> {
    let spec = doc.get("spec")?;
    let e = serde_path_to_error::deserialize::<_, api::UserPermissionLimits>(spec).err()?;
    Some((format!("spec.{}", e.path()), e.inner().to_string()))
}

fn duplicates_of<T: Resource<DynamicType = ()>>(
    objects: &[Object<T>],
    problems: &mut Vec<Diagnostic>,
) {
    let mut first_in = BTreeMap::new();
    for o in objects {
        match first_in.entry((o.namespace(), o.name())) {
            Entry::Vacant(v) => {
                v.insert(&o.file);
            }
            Entry::Occupied(first) => problems.push(
                o.error(
                    None,
                    format!(
                        "defined more than once in the input: also in {}",
                        first.get()
                    ),
                )
                .with_code(Code::Duplicate),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
