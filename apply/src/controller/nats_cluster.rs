//! NatsCluster: its URL, creds and operator key resolve, the cluster answers the system user
//! and trusts the operator key (checked again every 30 s); deletion waits until no Account is
//! bound to it.

use std::sync::Arc;

use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use nauth_render::api::{Account, NatsCluster, UrlSourceKind};
use serde_json::json;

use super::{Context, Error, ns_name};
use crate::closure;

/// NAuth's finalizer of NatsClusters.
pub const FINALIZER: &str = "natscluster.nauth.io/finalizer";

/// Reconciles one NatsCluster (see the module docs).
pub async fn reconcile(c: Arc<NatsCluster>, cx: Arc<Context>) -> Result<Action, Error> {
    super::reconcile_finalized(c, cx, FINALIZER, apply, cleanup).await
}

/// Retries after a short backoff.
pub fn error_policy(c: Arc<NatsCluster>, error: &Error, cx: Arc<Context>) -> Action {
    super::retry(c, error, cx)
}

async fn apply(c: &NatsCluster, cx: &Context) -> Result<Action, Error> {
    super::checked(c.spec.validate())?;
    let (ns, name) = ns_name(c);
    let cluster = closure::cluster(cx, (ns.clone(), name.clone())).await?;
    let conn = cx.nats.get(&cluster.key, &cluster.config).await?;
    let membership = conn.membership().await?;
    // Accounts are signed with the operator signing key: a cluster whose key is unreadable, or
    // one no server trusts, would only fail on every Account bound to it.
    // Pre-rendered, the key is not here: each pushed JWT's issuer is checked instead.
    if !cx.config.pre_rendered {
        let key = cluster.operator_signing_key()?;
        membership
            .trust
            .check_delete_signer(&key.public_key())
            .map_err(|e| Error::errored(format!("spec.operatorSigningKeySecretRef: {e}")))?;
    }
    super::write_reconciled(cx, &cx.api::<NatsCluster>(&ns), c, json!({})).await?;
    Ok(Action::requeue(cx.config.resync.min(HEALTH_CHECK)))
}

/// How often a Ready NatsCluster asks its servers again (one request), so that NATS going
/// down shows on it within this time rather than at the next resync.
const HEALTH_CHECK: std::time::Duration = std::time::Duration::from_secs(30);

async fn cleanup(c: &NatsCluster, cx: &Context) -> Result<Action, Error> {
    let uid = c.uid().unwrap_or_default();
    let selector = format!("{}={uid}", super::account::CLUSTER_ID_LABEL);
    let bound = Api::<Account>::all(cx.client.clone())
        .list(&ListParams::default().labels(&selector))
        .await?;
    if !bound.items.is_empty() {
        return Err(Error::errored(format!(
            "delete blocked, found {} account bindings",
            bound.items.len()
        )));
    }
    let (ns, name) = ns_name(c);
    cx.nats.remove(&format!("{ns}/{name}")).await;
    Ok(Action::await_change())
}

/// The NatsClusters to re-check when an Account bound to one goes away (only then: an
/// Account's status writes are none of its cluster's business).
pub fn of_account(a: &Account) -> Option<kube::runtime::reflector::ObjectRef<NatsCluster>> {
    a.metadata.deletion_timestamp.as_ref()?;
    let r = a.spec.nats_cluster_ref.as_ref()?;
    let ns = r
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .or(a.namespace())?;
    Some(kube::runtime::reflector::ObjectRef::new(&r.name).within(&ns))
}

/// A Secret or ConfigMap a NatsCluster may read: its key Secrets and its `spec.urlFrom`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A Secret.
    Secret,
    /// A ConfigMap.
    ConfigMap,
}

/// True when the NatsCluster `c` reads the `kind` object `namespace/name`: a change of it may
/// change the cluster's URL, creds or operator key (NAuth #235).
pub fn reads(c: &NatsCluster, kind: Source, namespace: &str, name: &str) -> bool {
    let own = c.namespace().unwrap_or_default();
    let spec = &c.spec;
    let key_secret = kind == Source::Secret
        && own == namespace
        && [
            &spec.operator_signing_key_secret_ref,
            &spec.system_account_user_creds_secret_ref,
        ]
        .iter()
        .any(|r| r.name == name);
    let url_source = spec.url_from.as_ref().is_some_and(|f| {
        let from_kind = match f.kind {
            UrlSourceKind::ConfigMap => Source::ConfigMap,
            UrlSourceKind::Secret => Source::Secret,
        };
        let ns = f.namespace.as_deref().filter(|n| !n.is_empty());
        from_kind == kind && f.name == name && ns.unwrap_or(&own) == namespace
    });
    key_secret || url_source
}

/// The NatsClusters in `store` that read the `kind` object `o`.
pub fn reading<K: kube::Resource>(
    store: &Store<NatsCluster>,
    kind: Source,
    o: &K,
) -> Vec<ObjectRef<NatsCluster>> {
    let (ns, name) = (
        o.meta().namespace.clone().unwrap_or_default(),
        o.meta().name.clone().unwrap_or_default(),
    );
    store
        .state()
        .iter()
        .filter(|c| reads(c, kind, &ns, &name))
        .map(|c| ObjectRef::from(c.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(spec: serde_json::Value) -> NatsCluster {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "nauth.io/v1alpha1", "kind": "NatsCluster",
            "metadata": {"name": "c", "namespace": "nats"},
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn a_cluster_reads_its_key_secrets_and_its_url_source() {
        let c = cluster(serde_json::json!({
            "urlFrom": {"kind": "ConfigMap", "name": "url", "namespace": "shared", "key": "u"},
            "operatorSigningKeySecretRef": {"name": "op"},
            "systemAccountUserCredsSecretRef": {"name": "sys"},
        }));
        assert!(reads(&c, Source::Secret, "nats", "op"));
        assert!(reads(&c, Source::Secret, "nats", "sys"));
        assert!(reads(&c, Source::ConfigMap, "shared", "url"));
        assert!(
            !reads(&c, Source::Secret, "other", "sys"),
            "another namespace"
        );
        assert!(
            !reads(&c, Source::ConfigMap, "nats", "op"),
            "a ConfigMap named like a Secret"
        );
        assert!(
            !reads(&c, Source::Secret, "shared", "url"),
            "a Secret named like the ConfigMap"
        );
        assert!(
            !reads(&c, Source::ConfigMap, "nats", "url"),
            "urlFrom names another namespace"
        );
    }

    #[test]
    fn a_url_secret_defaults_to_the_cluster_namespace() {
        let c = cluster(serde_json::json!({
            "urlFrom": {"kind": "Secret", "name": "url", "key": "u"},
            "operatorSigningKeySecretRef": {"name": "op"},
            "systemAccountUserCredsSecretRef": {"name": "sys"},
        }));
        assert!(reads(&c, Source::Secret, "nats", "url"));
        assert!(!reads(&c, Source::ConfigMap, "nats", "url"));
    }
}
