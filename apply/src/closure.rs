//! The render inputs of one object, read from the API server: its dependency closure, so one
//! bad object never blocks another.
//!
//! - an Account: itself, its AccountExports and AccountImports (by their last valid rules,
//!   `status.desiredClaim`, as NAuth adopts them), the AccountSigningKeys it trusts, its
//!   NatsCluster, and the exporter Accounts its imports name (in observe mode: only their ID
//!   is needed, not their JWT);
//! - a User: itself, its Account (in observe mode too: only its keys are needed) and the
//!   AccountSigningKey it names.
//!
//! With them come the Secrets render takes keys from, and the lock record of the object read
//! back from the annotations of what the controller wrote last, so a restart or a resync
//! renders the same bytes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::jiff::Timestamp;
use kube::api::ListParams;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use nauth_render::api::{self, UrlSourceKind};
use nauth_render::api::{ACCOUNT_ID_LABEL, MANAGEMENT_POLICY_LABEL, USER_ACCOUNT_ID_LABEL};
use nauth_render::api::{OPERATOR_SIGN_SECRET_TYPE, SECRET_TYPE_LABEL, SYSTEM_CREDS_SECRET_TYPE};
use nauth_render::input::{Inputs, Object, nats_url};
use nauth_render::keys::KeySources;
use nauth_render::lock::{Lock, LockEntry};
use nauth_render::output::{
    self, CLAIMS_HASH_ANNOTATION, ISSUED_AT_ANNOTATION, ISSUER_ANNOTATION, PUBLIC_KEY_ANNOTATION,
    REVOCATIONS_ANNOTATION, USERS_ANNOTATION,
};
use nauth_render::render::{Members, Roster, UserRecord};

use crate::controller::{Context, Error};
use crate::keys::ACCOUNT_NAME_LABEL;
use crate::nats::{ClusterConfig, SystemCreds};
use crate::writes::MANAGED_LABEL;

/// Annotation of a creds Secret the controller re-issued in the same Account: the lock record
/// (`publicKey`, `issuedAt`) of the creds it replaced, which the Account revokes.
pub const REPLACED_ANNOTATION: &str = "user.nauth.io/replaced";

/// What render inputs say an object came from: the cluster, not a file.
const SOURCE: &str = "cluster";

/// An object as render reads it.
pub fn object<T>(resource: T) -> Object<T> {
    Object {
        file: SOURCE.to_string(),
        resource,
    }
}

/// Render's inputs for one object and the lock record it had.
pub struct Closure {
    /// Objects and key Secrets.
    pub inputs: Inputs,
    /// The object's previous lock record, if any.
    pub lock: Lock,
    /// An Account's AccountExports, with or without a desired claim, in adoption order.
    pub exports: Vec<Bound>,
    /// An Account's AccountImports, likewise.
    pub imports: Vec<Bound>,
    /// An Account's users, before and now, from which render decides its revocations.
    pub members: Members,
    /// The Account's JWT ConfigMap as read (the controller's last write), if any.
    pub config_map: Option<ConfigMap>,
}

/// An AccountExport or AccountImport naming an Account, as its adoption entry needs it.
pub struct Bound {
    /// Its name.
    pub name: String,
    /// Its UID.
    pub uid: String,
    /// Its `metadata.generation`.
    pub generation: i64,
    /// The generation of its `status.desiredClaim`, if it has one.
    pub desired_generation: Option<i64>,
    created: Option<Timestamp>,
}

impl Bound {
    fn of<K: Resource>(o: &K, desired_generation: Option<i64>) -> Self {
        let meta = o.meta();
        Bound {
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            generation: meta.generation.unwrap_or_default(),
            desired_generation,
            created: meta.creation_timestamp.as_ref().map(|t| t.0),
        }
    }
}

/// Sorts children in NAuth's adoption order: creation time, then name.
fn adoption_order(children: &mut [Bound]) {
    children.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
}

/// An Account's NatsCluster: the object, how to connect, and its key Secrets.
#[derive(Clone)]
pub struct Cluster {
    /// The NatsCluster, or the stand-in of NAuth's NATS_URL mode.
    pub object: api::NatsCluster,
    /// `namespace/name`, the key of its NATS connection.
    pub key: String,
    /// URL and system user creds.
    pub config: ClusterConfig,
    /// Its operator signing key Secret and system user creds Secret.
    pub secrets: Vec<Secret>,
    /// Whether this is the stand-in of NAuth's deprecated NATS_URL mode.
    pub nats_url_mode: bool,
}

/// NAuth's deprecated NATS_URL mode, when `NATS_URL` is set: the URL, and the namespace whose
/// labelled Secrets hold the operator signing key and the system user's creds.
#[derive(Clone, Debug)]
pub struct NatsUrl {
    /// `NATS_URL`.
    pub url: String,
    /// The controller's namespace.
    pub namespace: String,
}

impl Cluster {
    /// Its operator signing key, read by render's key rules from its Secret; the message names
    /// the Secret, never the seed.
    pub fn operator_signing_key(&self) -> Result<nkeys::KeyPair, Error> {
        let secrets: Vec<_> = self.secrets.iter().cloned().map(object).collect();
        KeySources {
            secrets: &secrets,
            seed_root: None,
        }
        .operator_signing_key(&object(self.object.clone()))
        .map_err(|e| Error::errored(format!("spec.operatorSigningKeySecretRef: {}", e.message)))
    }
}

/// The NatsCluster serving Account `a`: the one [`cluster_ref`] names, or, with neither
/// `spec.natsClusterRef` nor `NATS_CLUSTER_REF`, the stand-in of NAuth's NATS_URL mode when
/// `NATS_URL` is set.
pub async fn account_cluster(cx: &Context, a: &api::Account) -> Result<Cluster, Error> {
    match &cx.config.nats_url {
        Some(mode) if a.spec.nats_cluster_ref.is_none() && cx.config.default_cluster.is_none() => {
            nats_url_cluster(cx, mode).await
        }
        _ => cached_cluster(cx, cluster_ref(cx, a)?).await,
    }
}

/// The stand-in NatsCluster of NAuth's NATS_URL mode (render's `input::nats_url`), made from
/// the labelled Secrets of the controller's namespace: exactly one of each kind, else an error
/// naming the label and the namespace.
async fn nats_url_cluster(cx: &Context, mode: &NatsUrl) -> Result<Cluster, Error> {
    let selector =
        format!("{SECRET_TYPE_LABEL} in ({OPERATOR_SIGN_SECRET_TYPE},{SYSTEM_CREDS_SECRET_TYPE})");
    let secrets: Vec<_> = (cx.api::<Secret>(&mode.namespace))
        .list(&ListParams::default().labels(&selector))
        .await?
        .into_iter()
        .map(object)
        .collect();
    let required = nats_url::Required {
        namespace: &mode.namespace,
        url: &mode.url,
    };
    let stand_in = nats_url::stand_in(&secrets, Some(required))
        .map_err(|errors| {
            let messages: Vec<_> = errors.into_iter().map(|d| d.message).collect();
            Error::errored(messages.join("; "))
        })?
        .ok_or_else(|| Error::errored("NATS_URL mode: no stand-in NatsCluster"))?;
    let mut cluster = from_object(cx, stand_in.resource).await?;
    cluster.nats_url_mode = true;
    Ok(cluster)
}

/// The NatsCluster an Account names (`spec.natsClusterRef`, namespace defaulting to the
/// Account's), else the operator's (`NATS_CLUSTER_REF`); with a strict `NATS_CLUSTER_REF`, no
/// other (render checks the same rule; it is checked here first so that an unknown cluster is
/// not what the message is about).
pub fn cluster_ref(cx: &Context, a: &api::Account) -> Result<(String, String), Error> {
    let own = a.namespace().unwrap_or_default();
    match (&a.spec.nats_cluster_ref, &cx.config.default_cluster) {
        (Some(r), _) if r.name.is_empty() => {
            Err(Error::errored("spec.natsClusterRef.name: required"))
        }
        (Some(r), required) => {
            let named = (
                r.namespace.clone().filter(|n| !n.is_empty()).unwrap_or(own),
                r.name.clone(),
            );
            match required {
                Some(required) if !cx.config.cluster_optional && *required != named => {
                    Err(Error::errored(format!(
                        "spec.natsClusterRef: account cluster reference {}/{} does not match required operator cluster {}/{} (NATS_CLUSTER_REF)",
                        named.0, named.1, required.0, required.1
                    )))
                }
                _ => Ok(named),
            }
        }
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(Error::errored(
            "no cluster reference provided and no operator cluster configured (spec.natsClusterRef, NATS_CLUSTER_REF)",
        )),
    }
}

/// NatsClusters as last read, by `namespace/name`, so that Accounts do not read their
/// cluster's Secrets at every reconcile. Emptied by [`Clusters::changed`] whenever the watches
/// see a change to anything a NatsCluster reads; a read that overlapped such a change is not
/// kept, so the cache never holds what was read before the last change.
#[derive(Default)]
pub struct Clusters {
    /// Changes seen so far: a read kept only if none came while it ran.
    epoch: AtomicU64,
    read: Mutex<HashMap<String, Cluster>>,
}

impl Clusters {
    /// Forgets every cluster: a NatsCluster, or a Secret or ConfigMap one reads, changed.
    pub fn changed(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.read.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn kept(&self, key: &str) -> Option<Cluster> {
        (self.read.lock().unwrap_or_else(|e| e.into_inner()))
            .get(key)
            .cloned()
    }

    /// Keeps `cluster`, read since `epoch`, unless a change came meanwhile.
    fn keep(&self, epoch: u64, cluster: &Cluster) {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        if epoch == self.epoch.load(Ordering::Acquire) {
            read.insert(cluster.key.clone(), cluster.clone());
        }
    }
}

/// The NatsCluster `(namespace, name)` with its URL and Secrets, as last read when nothing it
/// reads changed since (see [`Clusters`]); else read afresh (see [`cluster`]).
async fn cached_cluster(cx: &Context, (ns, name): (String, String)) -> Result<Cluster, Error> {
    match cx.clusters.kept(&format!("{ns}/{name}")) {
        Some(cluster) => Ok(cluster),
        None => cluster(cx, (ns, name)).await,
    }
}

/// Reads the NatsCluster `(namespace, name)`, its URL and its Secrets, and keeps them for
/// [`cached_cluster`].
pub async fn cluster(cx: &Context, (ns, name): (String, String)) -> Result<Cluster, Error> {
    let epoch = cx.clusters.epoch.load(Ordering::Acquire);
    let object = cx
        .api::<api::NatsCluster>(&ns)
        .get_opt(&name)
        .await?
        .ok_or_else(|| Error::errored(format!("NatsCluster {ns}/{name} not found")))?;
    let cluster = from_object(cx, object).await?;
    cx.clusters.keep(epoch, &cluster);
    Ok(cluster)
}

/// Reads the URL and the Secrets of the NatsCluster `object`.
async fn from_object(cx: &Context, object: api::NatsCluster) -> Result<Cluster, Error> {
    let (ns, name) = crate::controller::ns_name(&object);
    let key = format!("{ns}/{name}");
    let secrets_api = cx.api::<Secret>(&ns);
    let spec = &object.spec;
    let mut secrets = Vec::new();
    let value = |r: &api::SecretKeyRef, field: &str| {
        let (name, key_name) = (r.name.clone(), r.key_or_default().to_string());
        let field = field.to_string();
        let api = secrets_api.clone();
        let (ns, cluster) = (ns.clone(), key.clone());
        async move {
            if name.is_empty() {
                let message = format!("NatsCluster {cluster}: {field}.name: required");
                return Err(Error::errored(message));
            }
            let secret = api
                .get_opt(&name)
                .await?
                .ok_or_else(|| Error::errored(format!("Secret {ns}/{name} ({field}) not found")))?;
            let text = secret_value(&secret, &key_name).ok_or_else(|| {
                Error::errored(format!(
                    "Secret {ns}/{name} ({field}) has no key {key_name}"
                ))
            })?;
            Ok::<_, Error>((secret, text))
        }
    };
    // Pre-rendered, the operator key is not in the cluster: render signed with it.
    if !cx.config.pre_rendered {
        let (operator, _) = value(
            &spec.operator_signing_key_secret_ref,
            "spec.operatorSigningKeySecretRef",
        )
        .await?;
        secrets.push(operator);
    }
    let (system, creds) = value(
        &spec.system_account_user_creds_secret_ref,
        "spec.systemAccountUserCredsSecretRef",
    )
    .await?;
    secrets.push(system);
    let url = url(cx, &object, &ns).await?;
    let creds = SystemCreds::new(creds).map_err(|e| {
        Error::errored(format!(
            "NatsCluster {key}: spec.systemAccountUserCredsSecretRef (Secret {ns}/{}): {e}",
            spec.system_account_user_creds_secret_ref.name
        ))
    })?;
    Ok(Cluster {
        config: ClusterConfig::new(url, creds),
        object,
        key,
        secrets,
        nats_url_mode: false,
    })
}

/// The NatsCluster's URL: `spec.url`, or the key `spec.urlFrom` names in a ConfigMap or Secret.
async fn url(cx: &Context, c: &api::NatsCluster, own: &str) -> Result<String, Error> {
    if let Some(url) = &c.spec.url {
        return Ok(url.clone());
    }
    let from = c
        .spec
        .url_from
        .as_ref()
        .ok_or_else(|| Error::errored("exactly one of url or urlFrom must be specified"))?;
    let ns = from
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(own);
    let missing = || {
        Error::errored(format!(
            "spec.urlFrom: {:?} {ns}/{} has no key {}",
            from.kind, from.name, from.key
        ))
    };
    match from.kind {
        UrlSourceKind::ConfigMap => {
            let cm = cx.api::<ConfigMap>(ns).get(&from.name).await?;
            let data = cm.data.unwrap_or_default();
            let binary = cm.binary_data.unwrap_or_default();
            data.get(&from.key)
                .cloned()
                .or_else(|| {
                    binary
                        .get(&from.key)
                        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                })
                .ok_or_else(missing)
        }
        UrlSourceKind::Secret => {
            let s = cx.api::<Secret>(ns).get(&from.name).await?;
            secret_value(&s, &from.key).ok_or_else(missing)
        }
    }
}

/// A Secret's value under `key`, from `data` or `stringData`.
pub fn secret_value(s: &Secret, key: &str) -> Option<String> {
    if let Some(v) = s.string_data.as_ref().and_then(|d| d.get(key)) {
        return Some(v.clone());
    }
    let bytes = s.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone()).ok()
}

/// The Secrets NAuth's account key lookup may use in `namespace` for `account`: managed Secrets
/// labelled with its ID or name, and the legacy names `<account>-ac-root`/`-ac-sign`.
pub async fn account_key_secrets(
    cx: &Context,
    namespace: &str,
    account: &str,
    id: Option<&str>,
) -> Result<Vec<Secret>, Error> {
    if let Some(cached) = cached_account_key_secrets(cx, namespace, account, id) {
        return Ok(cached);
    }
    let api = cx.api::<Secret>(namespace);
    let mut selectors = vec![format!(
        "{MANAGED_LABEL}=true,{ACCOUNT_NAME_LABEL}={account}"
    )];
    if let Some(id) = id {
        selectors.push(format!("{MANAGED_LABEL}=true,{ACCOUNT_ID_LABEL}={id}"));
    }
    let mut found: BTreeMap<String, Secret> = BTreeMap::new();
    for selector in selectors {
        for s in api.list(&ListParams::default().labels(&selector)).await? {
            found.insert(s.name_any(), s);
        }
    }
    for suffix in ["ac-root", "ac-sign"] {
        if let Some(s) = api.get_opt(&format!("{account}-{suffix}")).await? {
            found.insert(s.name_any(), s);
        }
    }
    Ok(found.into_values().collect())
}

/// NAuth's first lookups that find keys (by ID label, then by name label), answered from the
/// cache of managed Secrets when they find a root and a signing key Secret: NAuth then uses
/// those and no other. `None` sends the caller to the API server: a cache that lags behind must
/// never make an Account look keyless, which would generate another identity.
fn cached_account_key_secrets(
    cx: &Context,
    namespace: &str,
    account: &str,
    id: Option<&str>,
) -> Option<Vec<Secret>> {
    let all = cx.caches.secrets.state();
    let lookups = [(ACCOUNT_ID_LABEL, id), (ACCOUNT_NAME_LABEL, Some(account))];
    lookups.into_iter().find_map(|(label, value)| {
        let found: Vec<Secret> = (all.iter())
            .filter(|s| s.namespace().as_deref() == Some(namespace))
            .filter(|s| value.is_some() && s.labels().get(label).map(String::as_str) == value)
            .map(|s| Secret::clone(s))
            .collect();
        let has = |kind: &str| {
            (found.iter())
                .any(|s| s.labels().get(SECRET_TYPE_LABEL).map(String::as_str) == Some(kind))
        };
        (has("account-root") && has("account-sign")).then_some(found)
    })
}

/// `o` with `nauth.io/management-policy: observe`: render then only resolves its ID and keys.
fn observed(mut a: api::Account) -> api::Account {
    a.labels_mut()
        .insert(MANAGEMENT_POLICY_LABEL.to_string(), "observe".to_string());
    a
}

/// The Account `namespace/name` in observe mode and its key Secrets, when it exists and has an
/// ID; `None` otherwise (render then says what is missing).
async fn exporter(
    cx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Option<(api::Account, Vec<Secret>)>, Error> {
    let Some(a) = cx.api::<api::Account>(namespace).get_opt(name).await? else {
        return Ok(None);
    };
    let Some(id) = a.labels().get(ACCOUNT_ID_LABEL).cloned() else {
        return Ok(None);
    };
    let secrets = account_key_secrets(cx, namespace, name, Some(&id)).await?;
    Ok(Some((observed(a), secrets)))
}

/// The users an Account's JWT ConfigMap records (by User `namespace/name`).
pub fn recorded_users(written: &ConfigMap) -> Option<Roster> {
    json_annotation(written, USERS_ANNOTATION)
}

/// The lock record in the annotations of an object the controller wrote.
pub fn lock_entry<K: Resource>(written: &K) -> Option<LockEntry> {
    let a = written.meta().annotations.as_ref()?;
    Some(LockEntry {
        public_key: a.get(PUBLIC_KEY_ANNOTATION)?.clone(),
        issuer: a.get(ISSUER_ANNOTATION)?.clone(),
        claims_hash: a.get(CLAIMS_HASH_ANNOTATION)?.clone(),
        issued_at: a.get(ISSUED_AT_ANNOTATION)?.parse().ok()?,
        revocations: json_annotation(written, REVOCATIONS_ANNOTATION).unwrap_or_default(),
    })
}

/// The JSON value of annotation `name` of an object the controller wrote; `None` when it is
/// absent or not what render writes there.
fn json_annotation<K: Resource, T: serde::de::DeserializeOwned>(
    written: &K,
    name: &str,
) -> Option<T> {
    let text = written.meta().annotations.as_ref()?.get(name)?;
    serde_json::from_str(text).ok()
}

/// The key of `ref` in the Account's namespace.
fn ref_key(namespace: Option<&str>, own: &str) -> String {
    namespace
        .filter(|n| !n.is_empty())
        .unwrap_or(own)
        .to_string()
}

/// The AccountSigningKeys `refs` name (those that exist) and their Secrets.
async fn signing_keys<'r>(
    cx: &Context,
    refs: impl Iterator<Item = &'r api::AccountSigningKeyRef>,
    own: &str,
    inputs: &mut Inputs,
) -> Result<(), Error> {
    for r in refs {
        let ns = ref_key(r.namespace.as_deref(), own);
        let Some(ask) = cx
            .api::<api::AccountSigningKey>(&ns)
            .get_opt(&r.name)
            .await?
        else {
            continue;
        };
        let secret_name = ask
            .spec
            .secret_name
            .clone()
            .unwrap_or_else(|| format!("{}-ac-sign", r.name));
        if let Some(s) = cx.api::<Secret>(&ns).get_opt(&secret_name).await? {
            inputs.secrets.push(object(s));
        }
        inputs.signing_keys.push(object(ask));
    }
    Ok(())
}

/// Render inputs of Account `a` (see the module docs) for `cluster`.
pub async fn account(cx: &Context, a: &api::Account, cluster: &Cluster) -> Result<Closure, Error> {
    let (ns, name) = crate::controller::ns_name(a);
    let id = a.labels().get(ACCOUNT_ID_LABEL).cloned();
    let mut inputs = Inputs::default();
    for s in account_key_secrets(cx, &ns, &name, id.as_deref()).await? {
        inputs.secrets.push(object(s));
    }
    let (mut exports, mut imports) = (Vec::new(), Vec::new());
    let mut exporters: Vec<(String, String)> = Vec::new();
    for imp in a.spec.imports.iter().flatten() {
        exporters.push((
            ref_key(Some(&imp.account_ref.namespace), &ns),
            imp.account_ref.name.clone(),
        ));
    }
    // From the caches, which hold every change that triggered this reconcile (see
    // `controller::watch`).
    cx.caches.ready().await?;
    let own = |namespace: Option<String>, account: &str| {
        namespace.as_deref() == Some(ns.as_str()) && account == name
    };
    for e in cx.caches.exports.state() {
        if !own(e.namespace(), &e.spec.account_name) {
            continue;
        }
        let mut e = api::AccountExport::clone(&e);
        // NAuth adopts the last valid rules; without any there is nothing to adopt yet.
        let desired = e.status.as_ref().and_then(|s| s.desired_claim.clone());
        exports.push(Bound::of(
            &e,
            desired.as_ref().map(|d| d.observed_generation),
        ));
        let Some(desired) = desired else {
            continue;
        };
        e.spec.rules = desired.rules;
        inputs.exports.push(object(e));
    }
    for i in cx.caches.imports.state() {
        if !own(i.namespace(), &i.spec.account_name) {
            continue;
        }
        let mut i = api::AccountImport::clone(&i);
        let desired = i.status.as_ref().and_then(|s| s.desired_claim.clone());
        imports.push(Bound::of(
            &i,
            desired.as_ref().map(|d| d.observed_generation),
        ));
        let Some(desired) = desired else {
            continue;
        };
        i.spec.rules = desired.rules.into_iter().map(|d| d.rule).collect();
        let r = &i.spec.export_account_ref;
        exporters.push((ref_key(Some(&r.namespace), &ns), r.name.clone()));
        inputs.imports.push(object(i));
    }
    exporters.sort();
    exporters.dedup();
    for (ens, ename) in exporters {
        if (ens.as_str(), ename.as_str()) == (ns.as_str(), name.as_str()) {
            continue;
        }
        if let Some((exporter, secrets)) = exporter(cx, &ens, &ename).await? {
            inputs.secrets.extend(secrets.into_iter().map(object));
            inputs.accounts.push(object(exporter));
        }
    }
    signing_keys(
        cx,
        a.spec.signing_key_refs.iter().flatten(),
        &ns,
        &mut inputs,
    )
    .await?;
    inputs
        .secrets
        .extend(cluster.secrets.iter().cloned().map(object));
    inputs.clusters.push(object(cluster.object.clone()));
    inputs.accounts.push(object(a.clone()));
    let mut lock = Lock::new();
    let written = account_config_map(cx, &ns, &name).await?;
    let recorded = match (written.as_ref().and_then(lock_entry), &id) {
        (Some(entry), _) => Some(entry),
        (None, Some(id)) => recovered(cx, a, cluster, id).await?,
        (None, None) => None,
    };
    // An ID label removed by hand: its users are still those of the ID it recorded, and
    // finding none would revoke them all.
    let id = id.or_else(|| recorded.as_ref().map(|entry| entry.public_key.clone()));
    if let Some(entry) = recorded {
        lock.accounts.insert(format!("{ns}/{name}"), entry);
    }
    let mut members = Members {
        previous: (written.as_ref())
            .and_then(recorded_users)
            .unwrap_or_default(),
        current: Default::default(),
    };
    if let Some(id) = &id {
        users(cx, &ns, &name, id, &mut members).await?;
    }
    adoption_order(&mut exports);
    adoption_order(&mut imports);
    Ok(Closure {
        inputs,
        lock,
        exports,
        imports,
        members,
        config_map: written,
    })
}

/// The lock record of an Account whose JWT ConfigMap is gone, from the JWT NATS holds under
/// its ID: its revocations must survive the loss of the ConfigMap.
async fn recovered(
    cx: &Context,
    a: &api::Account,
    cluster: &Cluster,
    id: &str,
) -> Result<Option<LockEntry>, Error> {
    let conn = cx.nats.get(&cluster.key, &cluster.config).await?;
    let Some(found) = conn.lookup(id).await? else {
        return Ok(None);
    };
    let entry =
        nauth_render::render::recovered_account_entry(&found.claims, a).map_err(Error::errored)?;
    let (ns, name) = crate::controller::ns_name(a);
    tracing::info!(account = %format!("{ns}/{name}"), id = %id, revocations = entry.revocations.len(),
        "JWT ConfigMap missing: lock record recovered from the JWT in NATS");
    Ok(Some(entry))
}

/// The JWT ConfigMap the controller last wrote for Account `namespace/name`, if any.
pub async fn account_config_map(
    cx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Option<ConfigMap>, Error> {
    let config_map = output::account_config_map_name(name);
    Ok(cx.api::<ConfigMap>(namespace).get_opt(&config_map).await?)
}

/// Adds the Users of Account `namespace/account` (ID `id`) with creds it issued to `members`:
/// to `current`, or, when being deleted, to `previous` only (so they are revoked even if the
/// Account never rendered with them). Reads only this account's creds Secrets, from the cache,
/// and their Users; the Secrets from the API server when the cache would revoke a user (one the
/// Account recorded that it does not show, or shows with older creds): a lagging cache must
/// never revoke working creds.
async fn users(
    cx: &Context,
    namespace: &str,
    account: &str,
    id: &str,
    members: &mut Members,
) -> Result<(), Error> {
    let recorded = members.previous.clone();
    let cached = (cx.caches.secrets.state().iter())
        .filter(|s| s.namespace().as_deref() == Some(namespace))
        .filter(|s| {
            let labels = s.labels();
            labels.get(SECRET_TYPE_LABEL).map(String::as_str) == Some("user-creds")
                && labels.get(USER_ACCOUNT_ID_LABEL).map(String::as_str) == Some(id)
        })
        .map(|s| Secret::clone(s))
        .collect::<Vec<_>>();
    add_members(cx, namespace, account, &cached, Read::Cache, members).await?;
    if !revokes_unseen(&recorded, members) {
        return Ok(());
    }
    *members = Members {
        previous: recorded,
        current: Default::default(),
    };
    let selector = format!("{SECRET_TYPE_LABEL}=user-creds,{USER_ACCOUNT_ID_LABEL}={id}");
    let creds = cx
        .api::<Secret>(namespace)
        .list(&ListParams::default().labels(&selector))
        .await?;
    add_members(
        cx,
        namespace,
        account,
        &creds.items,
        Read::ApiServer,
        members,
    )
    .await
}

/// Where [`add_members`] reads the Users from.
enum Read {
    /// The controller's cache, which holds every User change that triggered this reconcile.
    Cache,
    /// The API server: for the decision to revoke what the caches do not show.
    ApiServer,
}

/// The value of [`REPLACED_ANNOTATION`] for replaced creds whose lock record is `was`.
pub fn replaced_annotation(was: &LockEntry) -> String {
    serde_json::json!({"publicKey": was.public_key, "issuedAt": was.issued_at}).to_string()
}

/// The creds a creds Secret replaced ([`REPLACED_ANNOTATION`]), if it says.
pub(crate) fn replaced(secret: &Secret) -> Option<UserRecord> {
    let text = secret.annotations().get(REPLACED_ANNOTATION)?;
    let record: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(UserRecord {
        public_key: record.get("publicKey")?.as_str()?.to_string(),
        issued_at: record.get("issuedAt")?.as_i64()?,
    })
}

/// Whether `members`, read from the caches, would revoke creds they may only not have seen yet:
/// a user `recorded` at the last render that they show neither now nor being deleted, or show
/// with creds older than recorded.
fn revokes_unseen(recorded: &Roster, members: &Members) -> bool {
    recorded.iter().any(|(key, was)| {
        let deleting = (members.previous.get(key)).filter(|now| recorded.get(key) != Some(*now));
        let seen = members.current.get(key).or(deleting);
        seen.is_none_or(|now| now.issued_at < was.issued_at)
    })
}

/// Adds the Users of creds Secrets `secrets` to `members` (see [`users`]): those of `account`
/// whose creds carry their lock record, reading the Users from `read`.
async fn add_members(
    cx: &Context,
    namespace: &str,
    account: &str,
    secrets: &[Secret],
    read: Read,
    members: &mut Members,
) -> Result<(), Error> {
    let users = cx.api::<api::User>(namespace);
    for secret in secrets {
        let secret_name = secret.name_any();
        let Some(name) = output::user_of_secret(&secret_name) else {
            continue;
        };
        let Some(issued) = lock_entry(secret) else {
            continue;
        };
        let u = match read {
            Read::Cache => (cx.caches.users.get(&ObjectRef::new(name).within(namespace)))
                .map(|u| api::User::clone(&u)),
            Read::ApiServer => users.get_opt(name).await?,
        };
        let Some(u) = u else {
            continue;
        };
        if u.spec.account_name != account {
            continue;
        }
        let record = UserRecord {
            public_key: issued.public_key,
            issued_at: issued.issued_at,
        };
        let key = format!("{namespace}/{name}");
        if u.meta().deletion_timestamp.is_some() {
            members.previous.insert(key, record);
            continue;
        }
        if let Some(was) = replaced(secret)
            && (members.previous.get(&key)).is_none_or(|p| p.issued_at < was.issued_at)
        {
            members.previous.insert(key.clone(), was);
        }
        members.current.insert(key, record);
    }
    Ok(())
}

/// Render inputs of User `u` of Account `account`; `creds` is its creds Secret (the one the
/// controller wrote, or a pending one holding a new key).
pub async fn user(
    cx: &Context,
    u: &api::User,
    account: &api::Account,
    creds: Secret,
) -> Result<Closure, Error> {
    let (ns, name) = crate::controller::ns_name(u);
    let id = account.labels().get(ACCOUNT_ID_LABEL).cloned();
    let mut inputs = Inputs::default();
    for s in account_key_secrets(cx, &ns, &account.name_any(), id.as_deref()).await? {
        inputs.secrets.push(object(s));
    }
    signing_keys(cx, u.spec.signing_key_ref.iter(), &ns, &mut inputs).await?;
    let mut lock = Lock::new();
    if let Some(entry) = lock_entry(&creds) {
        lock.users.insert(format!("{ns}/{name}"), entry);
    }
    // The Account's revocations: a key it revoked is issued again only after.
    let account_name = account.name_any();
    let written = account_config_map(cx, &ns, &account_name).await?;
    if let Some(entry) = written.as_ref().and_then(lock_entry) {
        lock.accounts.insert(format!("{ns}/{account_name}"), entry);
    }
    inputs.secrets.push(object(creds));
    inputs.accounts.push(object(observed(account.clone())));
    inputs.users.push(object(u.clone()));
    Ok(Closure {
        inputs,
        lock,
        exports: Vec::new(),
        imports: Vec::new(),
        members: Members::default(),
        config_map: written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, issued_at: i64) -> UserRecord {
        UserRecord {
            public_key: key.into(),
            issued_at,
        }
    }

    #[test]
    fn replaced_creds_are_read_back_as_they_were_recorded() {
        let was = LockEntry {
            public_key: "UA".into(),
            issuer: "AB".into(),
            claims_hash: "h".into(),
            issued_at: 10,
            revocations: Default::default(),
        };
        let mut secret = Secret::default();
        secret.metadata.annotations = Some(BTreeMap::from([(
            REPLACED_ANNOTATION.to_string(),
            replaced_annotation(&was),
        )]));
        assert_eq!(replaced(&secret), Some(record("UA", 10)));
        assert_eq!(replaced(&Secret::default()), None);
    }

    #[test]
    fn the_cache_decides_only_revocations_it_has_seen_the_reason_for() {
        let recorded = Roster::from([("ns/a".to_string(), record("UA", 10))]);
        let members = |current: &[(&str, UserRecord)], previous_now: &[(&str, UserRecord)]| {
            let roster = |rs: &[(&str, UserRecord)]| {
                (rs.iter())
                    .map(|(k, r)| (k.to_string(), r.clone()))
                    .collect::<Roster>()
            };
            let mut previous = recorded.clone();
            previous.extend(roster(previous_now));
            Members {
                previous,
                current: roster(current),
            }
        };
        let same = members(&[("ns/a", record("UA", 10))], &[]);
        assert!(!revokes_unseen(&recorded, &same));
        let newer = members(&[("ns/a", record("UB", 12))], &[]);
        assert!(!revokes_unseen(&recorded, &newer), "re-issued since: seen");
        let deleting = members(&[], &[("ns/a", record("UA", 11))]);
        assert!(!revokes_unseen(&recorded, &deleting), "being deleted: seen");
        let missing = members(&[], &[]);
        assert!(revokes_unseen(&recorded, &missing), "not in the cache yet");
        let older = members(&[("ns/a", record("UA", 9))], &[]);
        assert!(revokes_unseen(&recorded, &older), "the cache lags behind");
    }
}
