//! NAuth's example manifests against our types: each `nauth.io/v1alpha1` document validates
//! against the generated CRD schema, parses into the typed object, passes `validate()` and
//! serializes back to the same JSON. Broken variants of the examples are rejected by the path.

use std::path::{Path, PathBuf};

use nauth_render::api::{
    Account, AccountExport, AccountImport, AccountSigningKey, FieldError, KINDS, Kind, NatsCluster,
    User, crds,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

#[path = "common/conformance.rs"]
mod conformance;

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Every NAuth document of the examples, labelled `file#index`; `None` without the
/// conformance data.
fn nauth_documents() -> Option<Vec<(String, Kind, Value)>> {
    let mut files = Vec::new();
    yaml_files(&conformance::dir("nauth-examples")?, &mut files);
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let values: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", file.display()));
        for (i, doc) in values.into_iter().enumerate() {
            let api_version = doc["apiVersion"].as_str().unwrap_or_default();
            let kind = doc["kind"].as_str().unwrap_or_default();
            if let Some(kind) = Kind::from_type(api_version, kind) {
                docs.push((format!("{}#{i}", file.display()), kind, doc));
            }
        }
    }
    Some(docs)
}

/// The generated `openAPIV3Schema` of `kind`, as a JSON-schema validator.
fn validator(kind: Kind) -> jsonschema::Validator {
    let name = format!("{}.nauth.io", kind.plural());
    let crd = crds()
        .into_iter()
        .find(|c| c.metadata.name.as_deref() == Some(name.as_str()))
        .unwrap();
    let schema =
        serde_json::to_value(&crd.spec.versions[0].schema).unwrap()["openAPIV3Schema"].clone();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name} schema: {e}"))
}

/// Schema violations as `instance path: message`.
fn schema_errors(kind: Kind, doc: &Value) -> Vec<String> {
    validator(kind)
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Parses `doc` as `kind`, runs `validate()`, and returns the re-serialized JSON.
fn typed(kind: Kind, doc: &Value) -> Result<(Value, Vec<FieldError>), String> {
    fn with<T: DeserializeOwned + Serialize>(
        doc: &Value,
        validate: impl Fn(&T) -> Vec<FieldError>,
    ) -> Result<(Value, Vec<FieldError>), String> {
        let typed: T = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
        Ok((serde_json::to_value(&typed).unwrap(), validate(&typed)))
    }
    match kind {
        Kind::Account => with(doc, |o: &Account| o.spec.validate()),
        Kind::AccountExport => with(doc, |o: &AccountExport| o.spec.validate()),
        Kind::AccountImport => with(doc, |o: &AccountImport| o.spec.validate()),
        Kind::AccountSigningKey => with(doc, |o: &AccountSigningKey| o.spec.validate()),
        Kind::NatsCluster => with(doc, |o: &NatsCluster| o.spec.validate()),
        Kind::User => with(doc, |o: &User| o.spec.validate()),
    }
}

/// The first example of `kind`; `None` without the conformance data.
fn example(kind: Kind) -> Option<Value> {
    let doc = nauth_documents()?
        .into_iter()
        .find(|(_, k, _)| *k == kind)
        .map(|(_, _, doc)| doc)
        .unwrap_or_else(|| panic!("no {kind} among the examples"));
    Some(doc)
}

#[test]
fn every_example_validates_parses_and_round_trips() {
    let Some(docs) = nauth_documents() else {
        return;
    };
    let mut failures = Vec::new();
    for (label, kind, doc) in &docs {
        let errors = schema_errors(*kind, doc);
        if !errors.is_empty() {
            failures.push(format!("{label} ({kind}): schema: {errors:?}"));
        }
        match typed(*kind, doc) {
            Err(e) => failures.push(format!("{label} ({kind}): parse: {e}")),
            Ok((json, field_errors)) => {
                if &json != doc {
                    failures.push(format!("{label} ({kind}): round trip gave {json}"));
                }
                if !field_errors.is_empty() {
                    failures.push(format!("{label} ({kind}): validate: {field_errors:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The examples cover Account, AccountExport, AccountImport, NatsCluster and User.
    let kinds: std::collections::BTreeSet<_> = docs.iter().map(|(_, k, _)| *k).collect();
    assert_eq!(kinds.len(), KINDS.len() - 1, "kinds seen: {kinds:?}");
}

#[test]
fn wrong_enum_value_is_rejected_by_schema_and_parser() {
    let Some(mut account) = example(Kind::Account) else {
        return;
    };
    account["spec"]["exports"] = json!([{"subject": "foo.>", "type": "queue"}]);
    let errors = schema_errors(Kind::Account, &account);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("/spec/exports/0/type:")),
        "{errors:?}"
    );
    let err = typed(Kind::Account, &account).unwrap_err();
    assert!(err.contains("queue"), "{err}");
}

#[test]
fn lowercase_response_type_parses_but_the_schema_wants_capitals() {
    let Some(mut account) = example(Kind::Account) else {
        return;
    };
    account["spec"]["exports"] =
        json!([{"subject": "s", "type": "service", "responseType": "stream"}]);
    assert!(!schema_errors(Kind::Account, &account).is_empty());
    let (json, _) = typed(Kind::Account, &account).unwrap();
    assert_eq!(json["spec"]["exports"][0]["responseType"], "Stream");
}

#[test]
fn missing_required_field_is_rejected_by_schema_and_parser() {
    let Some(mut user) = example(Kind::User) else {
        return;
    };
    user["spec"].as_object_mut().unwrap().remove("accountName");
    let errors = schema_errors(Kind::User, &user);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("/spec:") && e.contains("accountName")),
        "{errors:?}"
    );
    let err = typed(Kind::User, &user).unwrap_err();
    assert!(err.contains("accountName"), "{err}");
}

#[test]
fn nats_cluster_with_url_and_url_from_fails_validate() {
    let Some(mut cluster) = example(Kind::NatsCluster) else {
        return;
    };
    cluster["spec"]["url"] = json!("nats://127.0.0.1:4222");
    cluster["spec"]["urlFrom"] = json!({"kind": "ConfigMap", "name": "nats", "key": "url"});
    let (_, errors) = typed(Kind::NatsCluster, &cluster).unwrap();
    assert_eq!(
        errors,
        [FieldError::new(
            "spec.urlFrom",
            "exactly one of url or urlFrom must be specified"
        )]
    );
}

#[test]
fn empty_rules_and_bad_reference_names_fail_schema_and_validate() {
    let Some(mut export) = example(Kind::AccountExport) else {
        return;
    };
    export["spec"]["rules"] = json!([]);
    assert!(
        schema_errors(Kind::AccountExport, &export)
            .iter()
            .any(|e| e.starts_with("/spec/rules:"))
    );
    let (_, errors) = typed(Kind::AccountExport, &export).unwrap();
    assert_eq!(errors[0].path, "spec.rules");

    let Some(mut user) = example(Kind::User) else {
        return;
    };
    user["spec"]["signingKeyRef"] = json!({"name": "Not_A_Label"});
    assert!(
        schema_errors(Kind::User, &user)
            .iter()
            .any(|e| e.starts_with("/spec/signingKeyRef/name:"))
    );
    let (_, errors) = typed(Kind::User, &user).unwrap();
    assert_eq!(errors[0].path, "spec.signingKeyRef.name");
}

#[test]
fn extensions_validate_against_the_schema_and_round_trip() {
    let Some(mut account) = example(Kind::Account) else {
        return;
    };
    account["spec"]["accountLimits"]["disallowBearer"] = json!(true);
    account["spec"]["jetStreamTieredLimits"] = json!({"R3": {"diskStorage": 1024, "streams": 2}});
    account["spec"]["mappings"] =
        json!({"a.>": [{"subject": "b.>", "weight": 40, "cluster": "east"}]});
    account["spec"]["defaultPermissions"] = json!({"pub": {"deny": [">"]}});
    account["spec"]["revocations"] = json!({"*": 1700000000});
    account["spec"]["authorization"] =
        json!({"authUsers": ["UAUTH"], "allowedAccounts": ["*"], "xkey": "XKEY"});
    account["spec"]["trace"] = json!({"destination": "trace.>", "sampling": 10});
    account["spec"]["tags"] = json!(["team:a"]);
    account["spec"]["description"] = json!("d");
    account["spec"]["infoUrl"] = json!("https://example.invalid");
    assert_eq!(schema_errors(Kind::Account, &account), Vec::<String>::new());
    let (json, errors) = typed(Kind::Account, &account).unwrap();
    assert_eq!((json, errors), (account.clone(), vec![]));

    account["spec"]["mappings"]["a.>"][0]["weight"] = json!(101);
    assert!(!schema_errors(Kind::Account, &account).is_empty());
    assert_eq!(
        typed(Kind::Account, &account).unwrap().1[0].path,
        "spec.mappings[a.>][0].weight"
    );
}

#[test]
fn approval_inputs_without_imports_parse_as_account_specs() {
    // NAuth's claims-mapping fixtures are builder inputs, not specs: their imports name an
    // `accountID` instead of an `accountRef`, so only the other account cases are specs as-is.
    let Some(dir) = conformance::dir("nauth-approvals") else {
        return;
    };
    let mut parsed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("account.") && name.ends_with(".input.yaml"))
            || name.contains("imports")
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let spec: nauth_render::api::AccountSpec =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(spec.validate(), vec![], "{name}");
        parsed += 1;
    }
    assert!(
        parsed >= 8,
        "only {parsed} account inputs found in {}",
        dir.display()
    );
}
