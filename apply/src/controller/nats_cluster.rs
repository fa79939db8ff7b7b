//! NatsCluster: its URL, creds and operator key resolve, the cluster answers the system user
//! and trusts the operator key; deletion waits until no Account is bound to it.

use std::sync::Arc;

use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use nauth_render::api::{Account, NatsCluster};
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
    let (ns, name) = ns_name(c);
    let cluster = closure::cluster(cx, (ns.clone(), name.clone())).await?;
    let conn = cx.nats.get(&cluster.key, &cluster.config).await?;
    let membership = conn.membership().await?;
    // Accounts are signed with the operator signing key: a cluster whose key is unreadable, or
    // one no server trusts, would only fail on every Account bound to it.
    let key = cluster.operator_signing_key()?;
    membership
        .trust
        .check_delete_signer(&key.public_key())
        .map_err(|e| Error::errored(format!("spec.operatorSigningKeySecretRef: {e}")))?;
    super::write_reconciled(cx, &cx.api::<NatsCluster>(&ns), c, json!({})).await?;
    Ok(Action::requeue(cx.config.resync))
}

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

/// The NatsClusters to re-check when an Account bound to one goes away.
pub fn of_account(a: &Account) -> Option<kube::runtime::reflector::ObjectRef<NatsCluster>> {
    let r = a.spec.nats_cluster_ref.as_ref()?;
    let ns = r
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .or(a.namespace())?;
    Some(kube::runtime::reflector::ObjectRef::new(&r.name).within(&ns))
}
