//! The testenv control plane as the tests see it: a client, fresh namespaces, our CRDs.
//!
//! There is no controller-manager, so namespaces are never finalized and nothing is garbage
//! collected: every test works in a namespace of its own and never waits for deletion.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, GroupVersionKind, ObjectMeta, Patch, PatchParams, PostParams};
use kube::discovery::{self, Scope};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};
use tokio::sync::OnceCell;

/// Field manager of everything the suite applies, so server-side apply conflicts name us.
const FIELD_MANAGER: &str = "nauth-tests";
/// How long a CRD may take to become Established on an idle loopback API server.
const CRD_ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest valid namespace name (a DNS label).
const MAX_NAMESPACE_LEN: usize = 63;

/// A client for the testenv API server (KUBECONFIG), after checking we run under testenv.sh.
pub async fn client() -> Client {
    crate::testenv::require();
    Client::try_default()
        .await
        .expect("a client from the KUBECONFIG that tests/testenv.sh exported")
}

/// Creates and returns a new namespace `t-<prefix>-<random>`, so tests never share objects.
pub async fn fresh_namespace(client: &Client, prefix: &str) -> String {
    let suffix = random_suffix();
    let keep = MAX_NAMESPACE_LEN - "t--".len() - suffix.len();
    let prefix = prefix.get(..keep).unwrap_or(prefix).trim_end_matches('-');
    let name = format!("t-{prefix}-{suffix}");
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
    name
}

/// Eight hex digits that differ between calls and between processes (std's hasher keys are random).
fn random_suffix() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    format!("{:08x}", hasher.finish() as u32)
}

/// Installs `nauth_render::api::crds()` once per test binary and waits until all are Established.
///
/// Only `()` is cached: a `Client` is bound to the runtime that made it, and every `#[tokio::test]`
/// has its own runtime.
pub async fn install_crds() {
    static INSTALLED: OnceCell<()> = OnceCell::const_new();
    INSTALLED
        .get_or_init(|| async { apply_crds(&client().await).await })
        .await;
}

async fn apply_crds(client: &Client) {
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let crds = nauth_render::api::crds();
    for crd in &crds {
        let name = crd.name_any();
        api.patch(&name, &params, &Patch::Apply(crd))
            .await
            .unwrap_or_else(|e| panic!("server-side apply of CRD {name}: {e}"));
    }
    for crd in &crds {
        let name = crd.name_any();
        let established = await_condition(api.clone(), &name, conditions::is_crd_established());
        tokio::time::timeout(CRD_ESTABLISHED_TIMEOUT, established)
            .await
            .unwrap_or_else(|_| {
                panic!("CRD {name} not Established after {CRD_ESTABLISHED_TIMEOUT:?}")
            })
            .unwrap_or_else(|e| panic!("watching CRD {name}: {e}"));
    }
}

/// A dynamic API for `apiVersion`/`kind` as served (found by discovery), in `namespace` when the
/// kind is namespaced; `None` when the server does not serve that kind.
pub async fn dynamic_api(
    client: &Client,
    api_version: &str,
    kind: &str,
    namespace: &str,
) -> Option<(Api<DynamicObject>, Scope)> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = discovery::pinned_kind(client, &gvk).await.ok()?;
    let api = match caps.scope {
        Scope::Namespaced => Api::namespaced_with(client.clone(), namespace, &resource),
        Scope::Cluster => Api::all_with(client.clone(), &resource),
    };
    Some((api, caps.scope))
}

/// The API server's own message for a request it must reject; panics if it accepted it.
pub fn rejection_message<T: std::fmt::Debug>(result: kube::Result<T>) -> String {
    match result {
        Err(kube::Error::Api(status)) => status.message,
        Err(other) => panic!("expected the API server to reject the request, got error {other}"),
        Ok(accepted) => {
            panic!("expected the API server to reject the request, it accepted {accepted:?}")
        }
    }
}
