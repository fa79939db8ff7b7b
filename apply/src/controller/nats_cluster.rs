//! NatsCluster: its URL, creds and operator key resolve, and the cluster answers the system
//! user; deletion waits until no Account is bound to it.

use std::sync::Arc;

use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use nauth_render::api::{Account, NatsCluster};
use serde_json::json;

use super::conditions::{self, READY, Set};
use super::{Context, Error, RESYNC, from_finalizer, ns_name};
use crate::{closure, writes};

/// NAuth's finalizer of NatsClusters.
pub const FINALIZER: &str = "natscluster.nauth.io/finalizer";

/// Reconciles one NatsCluster (see the module docs).
pub async fn reconcile(c: Arc<NatsCluster>, cx: Arc<Context>) -> Result<Action, Error> {
    let (ns, _) = ns_name(&*c);
    let api = cx.api::<NatsCluster>(&ns);
    let result = finalizer(&api, FINALIZER, c.clone(), |event| async {
        match event {
            Event::Apply(c) => apply(&c, &cx).await,
            Event::Cleanup(c) => cleanup(&c, &cx).await,
        }
    })
    .await
    .map_err(from_finalizer);
    if let Err(e) = &result {
        super::fail(&cx, &*c, e).await;
    }
    result
}

/// Retries after a short backoff.
pub fn error_policy(c: Arc<NatsCluster>, error: &Error, cx: Arc<Context>) -> Action {
    super::retry(c, error, cx)
}

async fn apply(c: &NatsCluster, cx: &Context) -> Result<Action, Error> {
    let (ns, name) = ns_name(c);
    let cluster = closure::cluster(cx, (ns.clone(), name.clone())).await?;
    let conn = cx.nats.get(&cluster.key, &cluster.config).await?;
    conn.membership().await?;
    let previous = c
        .status
        .as_ref()
        .and_then(|s| s.reconcile.conditions.clone());
    let conditions = conditions::apply(
        &previous.unwrap_or_default(),
        &[Set {
            type_: READY,
            status: true,
            reason: "Reconciled",
            message: "Successfully reconciled".into(),
        }],
        c.metadata.generation,
    );
    let status = json!({
        "conditions": conditions,
        "observedGeneration": c.metadata.generation,
        "reconcileTimestamp": k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now()),
        "operatorVersion": cx.config.version,
    });
    writes::status(&cx.api::<NatsCluster>(&ns), &name, status).await?;
    Ok(Action::requeue(RESYNC))
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
