//! The bundled examples (`examples/NAME`) under the real controller, applied from their own
//! files the way their READMEs apply them: each namespace an example names becomes a fresh one,
//! the NatsCluster URL becomes the test environment's (the READMEs' `sed`), and the Secrets a
//! NatsCluster names hold the test environment's operator signing key and system user creds
//! instead of the example's throwaway ones.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::controller::Controller;
use crate::manifests::{self, Manifest};
use crate::{cluster, testenv, tools};

/// The NATS URL every example's NatsCluster names (as NAuth's examples do).
pub const EXAMPLE_URL: &str = "nats://nats.nats.svc:4222";

/// An example applied to the test environment, with one controller per namespace it uses.
pub struct Example {
    /// Client of the test environment's API server.
    pub client: Client,
    namespaces: BTreeMap<String, String>,
    _controllers: Vec<Controller>,
}

impl Example {
    /// Applies every object of `examples/NAME` (Namespace objects and the NatsClusters'
    /// Secrets aside, see the module doc) and starts a controller in each namespace.
    pub async fn start(name: &str) -> Example {
        let client = cluster::client().await;
        cluster::install_crds().await;
        let loaded = manifests::load_dir(&example_dir(name));
        let mut namespaces = BTreeMap::new();
        for m in loaded.iter().filter(|m| m.kind() != "Namespace") {
            if let std::collections::btree_map::Entry::Vacant(entry) =
                namespaces.entry(m.namespace().to_string())
            {
                let fresh = cluster::fresh_namespace(&client, &format!("ex-{}", entry.key())).await;
                entry.insert(fresh);
            }
        }
        let example = Example {
            client,
            namespaces,
            _controllers: Vec::new(),
        };
        let provided = example.provide_cluster_secrets(&loaded).await;
        let objects: Vec<Value> = loaded
            .iter()
            .filter(|m| m.kind() != "Namespace" && !provided.contains(&key(m)))
            .map(|m| example.localized(&m.object))
            .collect();
        tools::apply_all(&example.client, "default", &objects).await;
        let mut controllers = Vec::new();
        for ns in example.namespaces.values() {
            controllers.push(Controller::start(ns, &[]).await);
        }
        Example {
            _controllers: controllers,
            ..example
        }
    }

    /// The fresh namespace standing for the example's namespace `original`.
    pub fn namespace(&self, original: &str) -> &str {
        self.namespaces
            .get(original)
            .unwrap_or_else(|| panic!("the example has no object in namespace {original}"))
    }

    /// `api` of kind `K` in the fresh namespace standing for `original`.
    pub fn api<K>(&self, original: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), self.namespace(original))
    }

    /// `object` with every `namespace` field the example names mapped to its fresh namespace
    /// and every [`EXAMPLE_URL`] replaced by the test environment's.
    fn localized(&self, object: &Value) -> Value {
        match object {
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| {
                        let v = match (k.as_str(), v.as_str()) {
                            ("namespace", Some(ns)) if self.namespaces.contains_key(ns) => {
                                json!(self.namespace(ns))
                            }
                            _ => self.localized(v),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.localized(v)).collect()),
            Value::String(s) if s == EXAMPLE_URL => json!(testenv::var("NATS_URL")),
            other => other.clone(),
        }
    }

    /// Creates the Secrets each NatsCluster of the example names, under the names and keys it
    /// gives, with the test environment's values; returns their (namespace, name).
    async fn provide_cluster_secrets(&self, loaded: &[Manifest]) -> Vec<(String, String)> {
        let read = |var| std::fs::read_to_string(testenv::var(var)).unwrap();
        let mut provided = Vec::new();
        for cluster in loaded.iter().filter(|m| m.kind() == "NatsCluster") {
            let spec = &cluster.object["spec"];
            for (field, value) in [
                (
                    "operatorSigningKeySecretRef",
                    read("NATS_OPERATOR_SIGNING_SEED").trim().to_string(),
                ),
                ("systemAccountUserCredsSecretRef", read("NATS_SYSTEM_CREDS")),
            ] {
                let name = spec[field]["name"].as_str().unwrap().to_string();
                let data_key = spec[field]["key"].as_str().unwrap_or("default");
                let secret: Secret = serde_json::from_value(json!({
                    "metadata": {"name": name},
                    "stringData": {data_key: value},
                }))
                .unwrap();
                let ns = self.namespace(cluster.namespace());
                Api::<Secret>::namespaced(self.client.clone(), ns)
                    .create(&PostParams::default(), &secret)
                    .await
                    .unwrap_or_else(|e| panic!("creating Secret {ns}/{name}: {e}"));
                provided.push((cluster.namespace().to_string(), name));
            }
        }
        provided
    }
}

/// `examples/NAME` in the repository.
fn example_dir(name: &str) -> std::path::PathBuf {
    tools::repo().join("examples").join(name)
}

/// (namespace, name) of a Secret manifest; other kinds get an empty name, which no Secret has.
fn key(m: &Manifest) -> (String, String) {
    let name = if m.kind() == "Secret" { m.name() } else { "" };
    (m.namespace().to_string(), name.to_string())
}
