//! Our generated CRDs on a real kube-apiserver: the examples are stored as written, and invalid
//! objects are rejected by the server's own schema and CEL validation.
//!
//! Run through `tests/testenv.sh run -- cargo test -p nauth-tests -- --include-ignored`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kube::Client;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::Scope;
use nauth_tests::cluster::{self, dynamic_api, rejection_message};
use nauth_tests::manifests::{self, Manifest, not_contained};
use serde_json::{Value, json};

/// API groups of other operators' CRDs that the examples use alongside ours (NACK's JetStream
/// objects); not installed here, so those objects are skipped, and only those.
const FOREIGN_GROUPS: &[&str] = &["jetstream.nats.io/"];
/// Top-level keys that are not the object's content (the rest is compared after read-back).
const NON_CONTENT_KEYS: &[&str] = &["apiVersion", "kind", "metadata", "status"];
const NAUTH_API_VERSION: &str = "nauth.io/v1alpha1";

#[path = "../../render/tests/common/conformance.rs"]
mod conformance;

/// The quickstart's manifests (`examples/` also holds a CI workflow, which is no object).
fn quickstart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart")
}

/// A client plus a fresh namespace, with our CRDs installed and Established.
async fn setup(prefix: &str) -> (Client, String) {
    let client = cluster::client().await;
    cluster::install_crds().await;
    let ns = cluster::fresh_namespace(&client, prefix).await;
    (client, ns)
}

/// Creates `object` (a nauth.io object given as JSON) in `ns`.
async fn create_nauth(client: &Client, ns: &str, object: Value) -> kube::Result<DynamicObject> {
    let kind = object["kind"]
        .as_str()
        .expect("test objects name their kind");
    let (api, _) = dynamic_api(client, NAUTH_API_VERSION, kind, ns)
        .await
        .unwrap_or_else(|| panic!("{NAUTH_API_VERSION} {kind} is not served"));
    let object: DynamicObject = serde_json::from_value(object).expect("a well-formed object");
    api.create(&PostParams::default(), &object).await
}

/// Creates one example in `ns` and returns what differs after reading it back, if anything.
async fn create_and_compare(client: &Client, manifest: &Manifest, ns: &str) -> Result<(), String> {
    let (api, scope) = dynamic_api(client, manifest.api_version(), manifest.kind(), ns)
        .await
        .ok_or_else(|| {
            format!(
                "{} {} is not served",
                manifest.api_version(),
                manifest.kind()
            )
        })?;
    let mut object: DynamicObject =
        serde_json::from_value(manifest.object.clone()).map_err(|e| e.to_string())?;
    object.metadata.namespace = (scope == Scope::Namespaced).then(|| ns.to_owned());
    api.create(&PostParams::default(), &object)
        .await
        .map_err(|e| format!("create: {e}"))?;
    let stored = api
        .get(manifest.name())
        .await
        .map_err(|e| format!("get: {e}"))?;
    let stored = serde_json::to_value(stored).map_err(|e| e.to_string())?;
    let expected = as_stored(&manifest.object);
    let given = expected.as_object().into_iter().flatten();
    let secret = manifest.kind() == "Secret";
    match given
        .filter(|(key, _)| !NON_CONTENT_KEYS.contains(&key.as_str()))
        .find_map(|(key, want)| not_contained(want, &stored[key]).map(|d| format!("{key}{d}")))
    {
        // A Secret's values stay out of test output; its path is enough.
        Some(difference) if secret => Err(format!(
            "read back differs at {}",
            difference.split(':').next().unwrap_or_default()
        )),
        Some(difference) => Err(format!("read back differs: {difference}")),
        None => Ok(()),
    }
}

/// The object as the API server stores it: a Secret's `stringData` lands base64-encoded in
/// `data`.
fn as_stored(object: &serde_json::Value) -> serde_json::Value {
    let mut object = object.clone();
    if let Some(string_data) = object.as_object_mut().and_then(|o| o.remove("stringData")) {
        for (key, value) in string_data.as_object().into_iter().flatten() {
            let bytes = value.as_str().unwrap_or_default().as_bytes().to_vec();
            object["data"][key] = serde_json::to_value(k8s_openapi::ByteString(bytes)).unwrap();
        }
    }
    object
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn every_example_is_stored_as_written() {
    let client = cluster::client().await;
    cluster::install_crds().await;
    // Without NAuth's examples (a clone without the conformance data), the quickstart still runs.
    let mut manifests = conformance::dir("nauth-examples")
        .map(|dir| manifests::load_dir(&dir))
        .unwrap_or_default();
    manifests.extend(manifests::load_dir(&quickstart_dir()));
    // Each namespace the examples use becomes a fresh one, so their cross-references still hold
    // while equal names in different examples (two `example-account`s) do not collide.
    let mut namespaces = BTreeMap::<String, String>::new();
    let (mut created, mut skipped, mut failures) = (0, Vec::new(), Vec::new());
    for manifest in &manifests {
        if manifest.kind() == "Namespace" {
            continue;
        }
        if FOREIGN_GROUPS
            .iter()
            .any(|g| manifest.api_version().starts_with(g))
        {
            skipped.push(manifest.label());
            continue;
        }
        let original = manifest.namespace().to_owned();
        if !namespaces.contains_key(&original) {
            let prefix = format!(
                "ex-{}",
                if original.is_empty() {
                    "default"
                } else {
                    &original
                }
            );
            let fresh = cluster::fresh_namespace(&client, &prefix).await;
            namespaces.insert(original.clone(), fresh);
        }
        match create_and_compare(&client, manifest, &namespaces[&original]).await {
            Ok(()) => created += 1,
            Err(e) => failures.push(format!("{}: {e}", manifest.label())),
        }
    }
    eprintln!(
        "created and read back {created} example objects; skipped foreign kinds: {skipped:#?}"
    );
    assert!(
        failures.is_empty(),
        "examples not stored as written:\n{}",
        failures.join("\n")
    );
    assert!(created > 0, "no example objects found");
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn wrong_enum_value_is_rejected() {
    let (client, ns) = setup("enum").await;
    let export = json!({
        "apiVersion": NAUTH_API_VERSION,
        "kind": "AccountExport",
        "metadata": {"name": "bad-type"},
        "spec": {"accountName": "a", "rules": [{"subject": "x.>", "type": "queue"}]},
    });
    let message = rejection_message(create_nauth(&client, &ns, export).await);
    assert!(
        message.contains(r#"spec.rules[0].type: Unsupported value: "queue": supported values: "stream", "service""#),
        "unexpected message: {message}"
    );
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn nats_cluster_needs_exactly_one_of_url_and_url_from() {
    let (client, ns) = setup("urlfrom").await;
    let cluster = |name: &str, spec: Value| {
        let mut spec = spec;
        spec["operatorSigningKeySecretRef"] = json!({"name": "op-sign", "key": "seed"});
        spec["systemAccountUserCredsSecretRef"] = json!({"name": "sys-creds", "key": "user.creds"});
        json!({"apiVersion": NAUTH_API_VERSION, "kind": "NatsCluster", "metadata": {"name": name}, "spec": spec})
    };
    let url_from = json!({"kind": "ConfigMap", "name": "nats-url", "key": "url"});
    let both = cluster(
        "both",
        json!({"url": "nats://127.0.0.1:4222", "urlFrom": url_from}),
    );
    let neither = cluster("neither", json!({}));
    for object in [both, neither] {
        let message = rejection_message(create_nauth(&client, &ns, object).await);
        assert!(
            message.contains("exactly one of url or urlFrom must be specified"),
            "unexpected message: {message}"
        );
    }
    let one = cluster("one", json!({"urlFrom": url_from}));
    create_nauth(&client, &ns, one)
        .await
        .expect("a NatsCluster with only urlFrom is valid");
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_signing_key_secret_name_is_immutable() {
    let (client, ns) = setup("immutable").await;
    let key = json!({
        "apiVersion": NAUTH_API_VERSION,
        "kind": "AccountSigningKey",
        "metadata": {"name": "key"},
        "spec": {"secretName": "first"},
    });
    create_nauth(&client, &ns, key)
        .await
        .expect("a valid AccountSigningKey");
    let (api, _) = dynamic_api(&client, NAUTH_API_VERSION, "AccountSigningKey", &ns)
        .await
        .expect("AccountSigningKey is served");
    let change = Patch::Merge(json!({"spec": {"secretName": "second"}}));
    let message = rejection_message(api.patch("key", &PatchParams::default(), &change).await);
    assert!(
        message.contains("secretName is immutable"),
        "unexpected message: {message}"
    );
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn missing_required_field_is_rejected() {
    let (client, ns) = setup("required").await;
    let user = json!({
        "apiVersion": NAUTH_API_VERSION,
        "kind": "User",
        "metadata": {"name": "no-account"},
        "spec": {"permissions": {"pub": {"allow": ["foo.>"]}}},
    });
    let message = rejection_message(create_nauth(&client, &ns, user).await);
    assert!(
        message.contains("spec.accountName: Required value"),
        "unexpected message: {message}"
    );
}
