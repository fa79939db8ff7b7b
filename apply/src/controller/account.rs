//! Account: keys (generated when missing, in NAuth's Secrets), render, issuer chain check and
//! push to every resolver, the JWT ConfigMap, labels and status; on deletion the guards, the
//! resolver delete and the key Secrets.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::ListParams;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use nauth_render::api::{self, Account, AccountAdoptions};
use nauth_render::api::{ACCOUNT_ID_LABEL, MANAGEMENT_POLICY_LABEL, USER_ACCOUNT_ID_LABEL};
use nauth_render::input::nats_url;
use nauth_render::keys::{KeySources, Keys};
use nauth_render::{output, render, status};
use serde_json::json;

use super::conditions::{READY, Set};
use super::user::PREVIOUS_ACCOUNT_ID_ANNOTATION;
use super::{Context, Error, now, ns_name};
use crate::closure::{self, Cluster};
use crate::nats::Drift;
use crate::{keys, writes};

/// NAuth's finalizer of Accounts.
pub const FINALIZER: &str = "account.nauth.io/finalizer";
/// Label: the operator signing key that signed the account JWT (managed) or its issuer (observe).
pub const SIGNED_BY_LABEL: &str = "account.nauth.io/signed-by";
/// Label: UID of the NatsCluster the Account is bound to.
pub const CLUSTER_ID_LABEL: &str = "account.nauth.io/nats-cluster-id";

/// Reconciles one Account (see the module docs).
pub async fn reconcile(a: Arc<Account>, cx: Arc<Context>) -> Result<Action, Error> {
    super::reconcile_finalized(a, cx, FINALIZER, apply, cleanup).await
}

/// Retries after a short backoff.
pub fn error_policy(a: Arc<Account>, error: &Error, cx: Arc<Context>) -> Action {
    super::retry(a, error, cx)
}

/// The Account named `account_name` in the namespace of `child` (an AccountExport or
/// AccountImport), to re-render when the child changes; when the child names none (its spec
/// was removed), the Account that adopted it, which must drop it.
pub fn of_child<K: Resource>(
    store: &Store<Account>,
    child: &K,
    account_name: &str,
) -> Option<ObjectRef<Account>> {
    let ns = child.namespace()?;
    if !account_name.is_empty() {
        return Some(ObjectRef::new(account_name).within(&ns));
    }
    let uid = child.meta().uid.as_deref()?;
    let adopts = |a: &Account| {
        let adoptions = a.status.as_ref().and_then(|s| s.adoptions.as_ref());
        (adoptions.into_iter())
            .flat_map(|x| [x.exports.as_ref(), x.imports.as_ref()])
            .flatten()
            .flatten()
            .any(|entry| entry.uid == uid)
    };
    let state = store.state();
    let account =
        (state.iter()).find(|a| a.namespace().as_deref() == Some(ns.as_str()) && adopts(a))?;
    Some(ObjectRef::from_obj(account.as_ref()))
}

/// The Accounts bound to a NatsCluster (by its UID label, or naming it).
pub fn of_cluster(store: &Store<Account>, c: &api::NatsCluster) -> Vec<ObjectRef<Account>> {
    let uid = c.uid();
    let key = (c.namespace().unwrap_or_default(), c.name_any());
    store
        .state()
        .iter()
        .filter(|a| {
            a.labels().get(CLUSTER_ID_LABEL) == uid.as_ref()
                || a.spec.nats_cluster_ref.as_ref().is_some_and(|r| {
                    r.name == key.1
                        && r.namespace
                            .clone()
                            .filter(|n| !n.is_empty())
                            .or(a.namespace())
                            == Some(key.0.clone())
                })
        })
        .map(|a| ObjectRef::from(a.as_ref()))
        .collect()
}

/// The Accounts bound to the NatsClusters that read the `kind` object `o` (a key Secret or the
/// URL's ConfigMap or Secret): its change may change how they reach NATS, so the clusters as
/// last read are forgotten too.
pub fn of_cluster_source<K: Resource>(
    cx: &Context,
    clusters: &Store<api::NatsCluster>,
    accounts: &Store<Account>,
    kind: super::nats_cluster::Source,
    o: &K,
) -> Vec<ObjectRef<Account>> {
    let readers = super::nats_cluster::reading(clusters, kind, o);
    if !readers.is_empty() {
        cx.clusters.changed();
    }
    let readers = readers.into_iter().filter_map(|r| clusters.get(&r));
    readers.flat_map(|c| of_cluster(accounts, &c)).collect()
}

/// The Accounts NAuth's NATS_URL mode serves (those without `spec.natsClusterRef`) when `s`
/// is one of the labelled Secrets of that mode in its namespace: adding, changing or removing
/// one changes their cluster, or makes it ambiguous.
pub fn of_nats_url_secret(
    accounts: &Store<Account>,
    mode: Option<&closure::NatsUrl>,
    s: &Secret,
) -> Vec<ObjectRef<Account>> {
    let labelled = matches!(
        s.labels().get(api::SECRET_TYPE_LABEL).map(String::as_str),
        Some(api::OPERATOR_SIGN_SECRET_TYPE | api::SYSTEM_CREDS_SECRET_TYPE)
    );
    match mode {
        Some(mode) if labelled && s.namespace().as_deref() == Some(mode.namespace.as_str()) => {
            (accounts.state().iter())
                .filter(|a| a.spec.nats_cluster_ref.is_none())
                .map(|a| ObjectRef::from(a.as_ref()))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The Accounts that trust an AccountSigningKey (list it in `spec.signingKeyRefs`).
pub fn of_signing_key(
    store: &Store<Account>,
    k: &api::AccountSigningKey,
) -> Vec<ObjectRef<Account>> {
    let (ns, name) = ns_name(k);
    store
        .state()
        .iter()
        .filter(|a| {
            a.spec.signing_key_refs.iter().flatten().any(|r| {
                r.name == name
                    && r.namespace
                        .clone()
                        .filter(|n| !n.is_empty())
                        .or(a.namespace())
                        == Some(ns.clone())
            })
        })
        .map(|a| ObjectRef::from(a.as_ref()))
        .collect()
}

/// The Account of a key Secret (`account.nauth.io/name`), or of a User's creds Secret (the
/// Account with its `user.nauth.io/account-id`, and the one it was issued by before when it
/// just moved): issued creds change what it revokes.
pub fn of_secret(store: &Store<Account>, s: Secret) -> Vec<ObjectRef<Account>> {
    let ns = s.namespace();
    if let Some(name) = s.labels().get(keys::ACCOUNT_NAME_LABEL) {
        return ns
            .map(|ns| ObjectRef::new(name).within(&ns))
            .into_iter()
            .collect();
    }
    let ids = [
        s.labels().get(USER_ACCOUNT_ID_LABEL),
        s.annotations().get(PREVIOUS_ACCOUNT_ID_ANNOTATION),
    ];
    store
        .state()
        .iter()
        .filter(|a| a.namespace() == ns && ids.contains(&a.labels().get(ACCOUNT_ID_LABEL)))
        .filter(|a| a.labels().contains_key(ACCOUNT_ID_LABEL))
        .map(|a| ObjectRef::from(a.as_ref()))
        .collect()
}

/// The Account of its JWT ConfigMap or deletion request: a ConfigMap deleted or edited by hand is
/// written again (with the lock record recovered from NATS when it is gone), and, pre-rendered,
/// a newly applied render is checked and pushed.
pub fn of_config_map(m: &ConfigMap) -> Option<ObjectRef<Account>> {
    let generated = m
        .labels()
        .get("app.kubernetes.io/managed-by")
        .map(String::as_str);
    if generated != Some("nauth-render") || !m.labels().contains_key(ACCOUNT_ID_LABEL) {
        return None;
    }
    let account = output::account_of_config_map(m.meta().name.as_deref()?)?;
    Some(ObjectRef::new(account).within(&m.namespace()?))
}

/// The Account of a User being deleted, which must revoke its key before the User goes.
pub fn of_deleted_user(u: &api::User) -> Option<ObjectRef<Account>> {
    u.meta().deletion_timestamp.as_ref()?;
    Some(ObjectRef::new(u.account_name()).within(&u.namespace()?))
}

/// Whether the Account only observes (`nauth.io/management-policy: observe`): nothing of it is
/// signed or pushed, so it revokes nothing.
pub(super) fn observed(a: &Account) -> bool {
    a.labels().get(MANAGEMENT_POLICY_LABEL).map(String::as_str) == Some("observe")
}

/// Reads the Account's NatsCluster and checks the Account is not bound to another one.
pub(super) async fn bound_cluster(cx: &Context, a: &Account) -> Result<Cluster, Error> {
    // Problems of the cluster are named by the setting that chose it.
    let via = match (&a.spec.nats_cluster_ref, &cx.config.default_cluster) {
        (None, Some(_)) => "NATS_CLUSTER_REF",
        (None, None) if cx.config.nats_url.is_some() => "NATS_URL",
        _ => "spec.natsClusterRef",
    };
    let cluster = (closure::account_cluster(cx, a).await).map_err(|e| match e {
        // Messages about the reference itself already start with the field or one of its own.
        Error::Invalid { reason, message } if !message.starts_with(via) => Error::Invalid {
            reason,
            message: format!("{via}: {message}"),
        },
        e => e,
    })?;
    let uid = cluster.object.uid().unwrap_or_default();
    match a.labels().get(CLUSTER_ID_LABEL) {
        // Empty: bound to no NatsCluster (NAuth's NATS_URL mode), free to move to one.
        Some(bound) if !bound.is_empty() && *bound != uid => Err(Error::errored(format!(
            "account already bound to cluster with uid: {bound}"
        ))),
        _ => Ok(cluster),
    }
}

async fn apply(a: &Account, cx: &Context) -> Result<Action, Error> {
    let cluster = bound_cluster(cx, a).await?;
    if observed(a) {
        return observe(a, cx, &cluster).await;
    }
    let (ns, name) = ns_name(a);
    let id = a.labels().get(ACCOUNT_ID_LABEL).cloned();
    if id.is_none() && !cx.config.pre_rendered {
        let existing = closure::account_key_secrets(cx, &ns, &name, None).await?;
        complete_keys(cx, &ns, &name, &existing).await?;
    }
    let (closure, ra) = publish(a, cx, &cluster).await?;
    write_status(cx, a, &cluster, &closure, &ra).await
}

/// After a push: the Account's labels (ID, signer, cluster) and status (claims, hash,
/// adoptions), `Ready=True`.
pub(super) async fn write_status(
    cx: &Context,
    a: &Account,
    cluster: &Cluster,
    closure: &closure::Closure,
    ra: &render::RenderedAccount,
) -> Result<Action, Error> {
    let (ns, name) = ns_name(a);
    crate::metrics::revocations(&ns, &name, ra.revocations.len());
    let labels = BTreeMap::from([
        (ACCOUNT_ID_LABEL.to_string(), ra.claims.data.sub.clone()),
        (SIGNED_BY_LABEL.to_string(), ra.claims.data.iss.clone()),
        (
            CLUSTER_ID_LABEL.to_string(),
            cluster.object.uid().unwrap_or_default(),
        ),
    ]);
    let api = cx.api::<Account>(&ns);
    cx.write_labels(&api, a, &labels, None).await?;
    let adoptions = AccountAdoptions {
        exports: Some(status::adoptions(
            &children(&closure.exports),
            &ra.adoptions.exports,
        )),
        imports: Some(status::adoptions(
            &children(&closure.imports),
            &ra.adoptions.imports,
        )),
    };
    let status = json!({
        "claims": status::account_claims(&ra.claims),
        "claimsHash": ra.claims_hash,
        "adoptions": adoptions,
    });
    let message = if cluster.nats_url_mode {
        format!("Successfully reconciled through {}", nats_url::HOW_TO_MOVE)
    } else {
        super::RECONCILED.to_string()
    };
    super::write_reconciled_saying(cx, &api, a, status, message).await?;
    Ok(Action::requeue(cx.config.resync))
}

/// Renders the Account, brings every resolver of its cluster to the JWT and writes the JWT
/// ConfigMap (the lock record the next render starts from); pre-rendered, checks and pushes
/// the JWT ConfigMap applied beside it.
async fn publish(
    a: &Account,
    cx: &Context,
    cluster: &Cluster,
) -> Result<(closure::Closure, render::RenderedAccount), Error> {
    if cx.config.pre_rendered {
        return super::pre_rendered::publish(a, cx, cluster).await;
    }
    let (ns, _) = ns_name(a);
    let closure = closure::account(cx, a, cluster).await?;
    let ra = render_account(cx, a, &closure)?;
    sync_resolvers(cx, a, cluster, &ra).await?;
    let written = writes::object_unless_held(
        &cx.api::<ConfigMap>(&ns),
        closure.config_map.as_ref(),
        &output::account_config_map_object(&ra),
    )
    .await?;
    if let Some(written) = written {
        cx.echoes.expect(&written);
    }
    Ok((closure, ra))
}

/// Brings every resolver of the cluster to the rendered JWT: looks the account up on all of
/// them and pushes only when one lacks it or holds an older JWT. A resolver holding a newer JWT
/// is not overwritten. A push that restores an unchanged account (same claims hash as the
/// status records) repairs drift, e.g. a wiped resolver: logged and reported as an event.
pub(super) async fn sync_resolvers(
    cx: &Context,
    a: &Account,
    cluster: &Cluster,
    ra: &render::RenderedAccount,
) -> Result<(), Error> {
    let conn = cx.nats.get(&cluster.key, &cluster.config).await?;
    let id = &ra.claims.data.sub;
    let (missing, older) = match conn
        .holdings(id)
        .await?
        .compare(&ra.jwt, ra.claims.data.iat)
    {
        Drift::None => {
            tracing::debug!(id = %id, cluster = %cluster.key, "every resolver holds the rendered JWT");
            return Ok(());
        }
        Drift::Behind { missing, older } => (missing, older),
        Drift::Newer { theirs, ours } => {
            return Err(Error::Invalid {
                reason: "NewerJwtInResolver",
                message: format!(
                    "NATS cluster {} holds a JWT of account {id} issued at {theirs}, newer than ours \
                     (issued at {ours}): something else pushes to this account; not overwritten",
                    cluster.key
                ),
            });
        }
    };
    let unchanged =
        a.status.as_ref().and_then(|s| s.claims_hash.as_deref()) == Some(ra.claims_hash.as_str());
    // Which servers lack it, for the report (a listing names its servers, a lookup does not).
    let lacking = if unchanged && missing > 0 {
        conn.list().await.map(|l| l.lacking(id)).unwrap_or_default()
    } else {
        Vec::new()
    };
    let named = match lacking.is_empty() {
        true => String::new(),
        false => format!(" ({})", lacking.join(", ")),
    };
    let accepted = conn.push(&ra.jwt).await?;
    if unchanged {
        // A server answers success without writing a JWT its memory already holds, so a
        // resolver directory removed under a running server stays empty: say so, not "repaired".
        if let Drift::Behind { missing, older } = conn
            .holdings(id)
            .await?
            .compare(&ra.jwt, ra.claims.data.iat)
        {
            return Err(Error::Invalid {
                reason: "ResolverNotStoring",
                message: format!(
                    "NATS cluster {}: {} resolver(s){named} accepted the JWT of account {id} again \
                     but still do not hold it: nats-server skips writing a JWT it already holds \
                     in memory, so a resolver directory removed while it runs stays empty; \
                     restart those servers and the controller pushes it again",
                    cluster.key,
                    missing + older,
                ),
            });
        }
        crate::metrics::drift_repaired();
        let servers: Vec<String> = accepted
            .replies
            .iter()
            .map(|r| r.server.to_string())
            .collect();
        let (ns, name) = ns_name(a);
        let note = format!(
            "re-pushed account {id} to NATS cluster {}: {missing} resolver(s) lacked it{named}, \
             {older} held an older JWT; now held by {}",
            cluster.key,
            servers.join(", ")
        );
        tracing::info!(account = %format!("{ns}/{name}"), id = %id, servers = %servers.join(","), "drift repaired: {note}");
        cx.event(a, EventType::Normal, "DriftRepaired", &note).await;
    }
    Ok(())
}

/// Renders Account `a` alone (render's per-object entry), with the users of its closure as the
/// members its revocations are decided from.
fn render_account(
    cx: &Context,
    a: &Account,
    closure: &closure::Closure,
) -> Result<render::RenderedAccount, Error> {
    let options = cx.config.render_options();
    let rcx = render::Context {
        inputs: &closure.inputs,
        keys: Keys::Seeds(KeySources {
            secrets: &closure.inputs.secrets,
            seed_root: None,
        }),
        epoch: now(),
        options: &options,
    };
    let identities = render::Identities::resolve(&rcx, &closure.lock);
    let object = closure::object(a.clone());
    let previous = closure.lock.accounts.get(&object.key());
    let result = render::account(&rcx, &identities, &object, previous, &closure.members);
    if result.has_errors() {
        return Err(super::invalid(&result.diagnostics));
    }
    (result.output).ok_or_else(|| Error::errored("render produced no JWT for this account"))
}

/// Every User of `ns` naming the Account `name`, labelled with its ID yet or not. The cache
/// answers when it holds one; an empty answer, which lets the Account go, is confirmed with the
/// API server, a page at a time (a namespace's Users at once held 16 MiB for 1,000 of them).
async fn users_naming(cx: &Context, ns: &str, name: &str) -> Result<Vec<api::User>, Error> {
    let names = |u: &api::User| u.spec.account_name == name && u.namespace().as_deref() == Some(ns);
    let cached: Vec<_> = (cx.caches.users.state().iter())
        .filter(|u| names(u))
        .map(|u| (**u).clone())
        .collect();
    if !cached.is_empty() {
        return Ok(cached);
    }
    let api = cx.api::<api::User>(ns);
    let mut params = ListParams::default().limit(USERS_PAGE);
    let mut found = Vec::new();
    loop {
        let page = api.list(&params).await?;
        found.extend(page.items.into_iter().filter(names));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return Ok(found),
        }
    }
}

/// Users read per request when a deleted Account confirms that none names it.
const USERS_PAGE: u32 = 100;

/// How many `K` in `ns` carry the account ID `id` in their `label` (NAuth's deletion guards).
async fn bound_to<K>(cx: &Context, ns: &str, label: &str, id: &str) -> Result<usize, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let by_id = ListParams::default().labels(&format!("{label}={id}"));
    Ok(cx.api::<K>(ns).list(&by_id).await?.items.len())
}

fn children(bound: &[closure::Bound]) -> Vec<status::Child<'_>> {
    bound
        .iter()
        .map(|b| status::Child {
            name: &b.name,
            uid: &b.uid,
            generation: b.generation,
            desired_generation: b.desired_generation,
        })
        .collect()
}

/// Keys for an Account with no recorded ID: a new root and signing key when it has neither, or
/// the signing key alone when a stop between the two writes left only the root key (no JWT can
/// have been signed without both, so no identity changes). Anything else is for render to judge.
async fn complete_keys(
    cx: &Context,
    ns: &str,
    name: &str,
    existing: &[Secret],
) -> Result<(), Error> {
    let api = cx.api::<Secret>(ns);
    let (id, wanted) = match existing {
        [] => {
            let root = keys::new_account_key();
            let id = root.public_key();
            (id, vec![(true, root), (false, keys::new_account_key())])
        }
        [root]
            if root
                .labels()
                .get(keys::SECRET_TYPE_LABEL)
                .map(String::as_str)
                == Some("account-root") =>
        {
            match root.labels().get(ACCOUNT_ID_LABEL) {
                Some(id) => (id.clone(), vec![(false, keys::new_account_key())]),
                None => return Ok(()),
            }
        }
        _ => return Ok(()),
    };
    for (is_root, key) in &wanted {
        writes::managed_secret(&api, &keys::account_secret(ns, name, &id, *is_root, key)).await?;
    }
    tracing::info!(account = %format!("{ns}/{name}"), id = %id, keys = wanted.len(), "generated account keys");
    Ok(())
}

/// Observe mode: the claims are read from NATS by the Account's ID; nothing is signed.
async fn observe(a: &Account, cx: &Context, cluster: &Cluster) -> Result<Action, Error> {
    let (ns, _) = ns_name(a);
    let id = a.labels().get(ACCOUNT_ID_LABEL).cloned().ok_or_else(|| {
        Error::errored(format!(
            "metadata.labels: observe mode needs the {ACCOUNT_ID_LABEL} label: the account is read from NATS by its ID"
        ))
    })?;
    let conn = cx.nats.get(&cluster.key, &cluster.config).await?;
    let found = conn
        .lookup(&id)
        .await?
        .ok_or_else(|| Error::errored(format!("account {id} not found in NATS")))?;
    let api = cx.api::<Account>(&ns);
    let labels = BTreeMap::from([
        (SIGNED_BY_LABEL.to_string(), found.claims.data.iss.clone()),
        (
            CLUSTER_ID_LABEL.to_string(),
            cluster.object.uid().unwrap_or_default(),
        ),
    ]);
    cx.write_labels(&api, a, &labels, None).await?;
    let hash = render::claims_hash(&found.claims).map_err(Error::errored)?;
    let status = json!({
        "claims": status::account_claims(&found.claims),
        "claimsHash": hash,
    });
    super::write_reconciled(cx, &api, a, status).await?;
    Ok(Action::requeue(cx.config.resync))
}

/// Deletion: NAuth's guards, then the resolver delete and the key Secrets (managed Accounts
/// with an ID only).
async fn cleanup(a: &Account, cx: &Context) -> Result<Action, Error> {
    mark_deleting(a, cx).await?;
    // NAuth's guard messages stay as NAuth words them; a failure to reach NATS or the API
    // says that it stopped the deletion.
    let removed = remove(a, cx).await.map_err(|e| match e {
        Error::Invalid { .. } | Error::Finalizer(_) => e,
        e => Error::errored(format!("{DELETING}: {e}")),
    })?;
    let (ns, name) = ns_name(a);
    crate::metrics::forget_account(&ns, &name);
    Ok(removed)
}

/// The Ready message of an Account being deleted; a failed deletion adds why.
const DELETING: &str = "Deleting account";

/// `Ready=False/Reconciling` "Deleting account", unless Ready is False already (a failed
/// attempt's message, which says why, stays: rewriting it at each retry would change the object
/// and trigger the next retry at once).
async fn mark_deleting(a: &Account, cx: &Context) -> Result<(), Error> {
    let conditions = a
        .status
        .as_ref()
        .and_then(|s| s.reconcile.conditions.as_ref());
    let ready = conditions.and_then(|c| c.iter().find(|c| c.type_ == READY));
    if ready.is_some_and(|c| c.status == "False") {
        return Ok(());
    }
    let deleting = Set {
        type_: READY,
        status: false,
        reason: "Reconciling",
        message: DELETING.into(),
    };
    super::write_conditions(
        &cx.api::<Account>(&a.namespace().unwrap_or_default()),
        a,
        &[deleting],
    )
    .await
}

/// Removes a deleted Account from NATS and its Secrets, once nothing depends on it.
async fn remove(a: &Account, cx: &Context) -> Result<Action, Error> {
    let (ns, name) = ns_name(a);
    let Some(id) = a.labels().get(ACCOUNT_ID_LABEL).cloned() else {
        return Ok(Action::await_change());
    };
    let users = users_naming(cx, &ns, &name).await?;
    if !users.is_empty() {
        // The account stays in NATS until the others go: Users deleted meanwhile are revoked
        // now, or their creds would keep working until then.
        if !observed(a) && users.iter().any(|u| u.meta().deletion_timestamp.is_some()) {
            publish(a, cx, &bound_cluster(cx, a).await?).await?;
        }
        let users = users.len();
        return Err(Error::errored(format!(
            "cannot delete an account with associated users, found {users} users"
        )));
    }
    let label = "accountexport.nauth.io/account-id";
    let exports = bound_to::<api::AccountExport>(cx, &ns, label, &id).await?;
    if exports > 0 {
        return Err(Error::errored(format!("found {exports} export bindings")));
    }
    let label = "accountimport.nauth.io/account-id";
    let imports = bound_to::<api::AccountImport>(cx, &ns, label, &id).await?;
    if imports > 0 {
        return Err(Error::errored(format!("found {imports} import bindings")));
    }
    if observed(a) {
        return Ok(Action::await_change());
    }
    if cx.config.pre_rendered {
        return super::pre_rendered::remove_account(cx, a, &id).await;
    }
    let cluster = bound_cluster(cx, a).await?;
    let operator = cluster.operator_signing_key()?;
    // NAuth's JetStream guard, when the account's keys are still there to look with.
    let key_secrets: Vec<_> = (closure::account_key_secrets(cx, &ns, &name, Some(&id)).await?)
        .into_iter()
        .map(closure::object)
        .collect();
    if !key_secrets.is_empty() {
        let keys = KeySources {
            secrets: &key_secrets,
            seed_root: None,
        }
        .account(&closure::object(a.clone()), Some(&id))
        .map_err(|e| Error::errored(e.message))?;
        // Keys read from Secrets always hold their seed.
        let root = (keys.root.pair())
            .ok_or_else(|| Error::errored("the account's root key has no seed"))?;
        let streams = crate::nats::account_streams(&cluster.config, root).await?;
        if !streams.is_empty() {
            return Err(Error::errored(format!(
                "account deletion aborted due to {} JetStream Stream(s) still exist for account: [{}]",
                streams.len(),
                streams.join(" ")
            )));
        }
    }
    let conn = cx.nats.get(&cluster.key, &cluster.config).await?;
    conn.delete(&[&id], &operator).await?;
    let selector = format!(
        "{ACCOUNT_ID_LABEL}={id},{}={name}",
        keys::ACCOUNT_NAME_LABEL
    );
    writes::delete_labelled(&cx.api::<Secret>(&ns), &selector).await?;
    writes::delete(
        &cx.api::<ConfigMap>(&ns),
        &output::account_config_map_name(&name),
    )
    .await?;
    tracing::info!(account = %format!("{ns}/{name}"), id = %id, "deleted account from NATS");
    Ok(Action::await_change())
}
