//! User: a key (kept for the User's life: creds are re-issued only when render's claims, key
//! generation or signer change), render, the creds Secret, labels and status.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use nauth_render::api::{self, Account, User, UserClaims};
use nauth_render::api::{ACCOUNT_ID_LABEL, REVOKE_ON_REISSUE_ANNOTATION, USER_ACCOUNT_ID_LABEL};
use nauth_render::keys::KeySources;
use nauth_render::{output, render};
use serde_json::json;

use super::conditions::{READY, Set};
use super::{Context, Error, now, ns_name};
use crate::writes::MANAGED_LABEL;
use crate::{closure, keys, writes};

/// NAuth's finalizer of Users.
pub const FINALIZER: &str = "user.nauth.io/finalizer";
/// Annotation of a creds Secret just re-issued by another Account: the account ID of the one
/// before, so that its Account is re-rendered at once and revokes the old creds.
pub(super) const PREVIOUS_ACCOUNT_ID_ANNOTATION: &str = "user.nauth.io/previous-account-id";
/// NAuth re-checks a User whose signing key is not ready every 5 s.
const NOT_READY_RETRY: Duration = Duration::from_secs(5);

/// Reconciles one User (see the module docs). A User without the finalizer gets it with its
/// labels, in the write before its creds Secret ([`write_labels`]): one request fewer per new
/// User than adding it first, and no second reconcile.
pub async fn reconcile(u: Arc<User>, cx: Arc<Context>) -> Result<Action, Error> {
    let new =
        u.meta().deletion_timestamp.is_none() && !u.finalizers().iter().any(|f| f == FINALIZER);
    let result = match new {
        true => {
            let result = apply(&u, &cx).await;
            if let Err(e) = &result {
                super::fail(&cx, &*u, e).await;
            }
            result
        }
        false => super::reconcile_finalized(u, cx, FINALIZER, apply, cleanup).await,
    };
    match result {
        // Reported as NotReady on the User, and checked again soon rather than backed off.
        Err(Error::Invalid {
            reason: "NotReady", ..
        }) => Ok(Action::requeue(NOT_READY_RETRY)),
        result => result,
    }
}

/// Retries after a short backoff.
pub fn error_policy(u: Arc<User>, error: &Error, cx: Arc<Context>) -> Action {
    super::retry(u, error, cx)
}

/// The Users of an Account, reconciled again when it changes (its ID, its signing keys).
pub fn of_account(store: &Store<User>, a: &Account) -> Vec<ObjectRef<User>> {
    let (ns, name) = ns_name(a);
    store
        .state()
        .iter()
        .filter(|u| u.spec.account_name == name && u.namespace().as_deref() == Some(&ns))
        .map(|u| ObjectRef::from(u.as_ref()))
        .collect()
}

/// The Users of an Account that wait for it to revoke creds, reconciled again when its claims
/// change: one being deleted waits for its own creds to be revoked before it goes, one with new
/// creds for the creds they replaced (see [`revocation_pending`]; it has not reconciled its
/// generation yet, or says NotReady).
pub fn waiting_of_account(store: &Store<User>, a: &Account) -> Vec<ObjectRef<User>> {
    let waits = |u: &User| {
        let behind = u
            .status
            .as_ref()
            .and_then(|s| s.reconcile.observed_generation)
            != u.meta().generation;
        u.meta().deletion_timestamp.is_some()
            || behind
            || (super::conditions::current(u).iter())
                .any(|c| c.type_ == READY && c.status == "False" && c.reason == "NotReady")
    };
    let waiting = |r: &ObjectRef<User>| store.get(r).is_some_and(|u| waits(&u));
    of_account(store, a).into_iter().filter(waiting).collect()
}

/// The User of a creds Secret, by its name: pre-rendered creds carry no ownerReference, and a
/// render applied over them must be checked again.
pub fn of_creds_secret(s: &Secret) -> Option<ObjectRef<User>> {
    let user = output::user_of_secret(s.meta().name.as_deref()?)?;
    Some(ObjectRef::new(user).within(&s.namespace()?))
}

fn not_ready(message: String) -> Error {
    Error::Invalid {
        reason: "NotReady",
        message,
    }
}

/// NAuth's trust chain for a `signingKeyRef`: the AccountSigningKey exists, is Ready with a
/// public key, is listed in the Account's `spec.signingKeyRefs` and its key is in the Account's
/// signed claims. Otherwise the User is `NotReady` and re-checked soon.
async fn check_signing_key(cx: &Context, u: &User, a: &Account) -> Result<(), Error> {
    let Some(r) = &u.spec.signing_key_ref else {
        return Ok(());
    };
    let own = u.namespace().unwrap_or_default();
    let ns = r
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or(own.clone());
    let target = format!("{ns}/{}", r.name);
    let ask = cx
        .api::<api::AccountSigningKey>(&ns)
        .get_opt(&r.name)
        .await?
        .ok_or_else(|| not_ready(format!("AccountSigningKey {target} not found")))?;
    let key = ask
        .status
        .as_ref()
        .and_then(|s| s.public_key.clone())
        .ok_or_else(|| not_ready(format!("AccountSigningKey {target} is not ready")))?;
    let listed = a.spec.signing_key_refs.iter().flatten().any(|ar| {
        ar.name == r.name
            && ar
                .namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or(own.clone())
                == ns
    });
    if !listed {
        return Err(not_ready(format!(
            "AccountSigningKey {target} is not listed in spec.signingKeyRefs of Account {own}/{}",
            a.name_any()
        )));
    }
    let trusted = (a.status.as_ref().and_then(|s| s.claims.as_ref()))
        .and_then(|c| c.signing_keys.as_ref())
        .is_some_and(|keys| keys.iter().any(|k| k.key.as_deref() == Some(&key)));
    if !trusted {
        return Err(not_ready(format!(
            "signing key {key} of AccountSigningKey {target} is not yet trusted by Account {own}/{}",
            a.name_any()
        )));
    }
    Ok(())
}

/// Deletion: the creds Secret goes with the User (controller ownerReference), but the User
/// stays until its Account's JWT, pushed to NATS, revokes the key of its creds (NotReady and
/// re-checked soon meanwhile); not when nothing can accept them any more: no creds, no
/// Account or JWT ConfigMap (the account left NATS), an observed Account, or one holding
/// another account ID. An Account being deleted still revokes: other Users may keep it in NATS.
async fn cleanup(u: &User, cx: &Context) -> Result<Action, Error> {
    let (ns, name) = ns_name(u);
    let creds = cx
        .api::<Secret>(&ns)
        .get_opt(&output::user_secret_name(&name))
        .await?;
    let Some(issued) = creds.as_ref().and_then(closure::lock_entry) else {
        return Ok(Action::await_change());
    };
    let account_name = u.account_name();
    if account_name.is_empty() {
        return Ok(Action::await_change());
    }
    let Some(account) = cx.api::<Account>(&ns).get_opt(account_name).await? else {
        return Ok(Action::await_change());
    };
    if super::account::observed(&account) {
        return Ok(Action::await_change());
    }
    let written = closure::account_config_map(cx, &ns, account_name).await?;
    let Some(jwt) = written.as_ref().and_then(closure::lock_entry) else {
        return Ok(Action::await_change());
    };
    let issuer_account = creds
        .as_ref()
        .and_then(|c| c.labels().get(USER_ACCOUNT_ID_LABEL));
    let revoked = nauth_jwt::is_revoked(&jwt.revocations, &issued.public_key, issued.issued_at);
    if issuer_account != Some(&jwt.public_key) || revoked {
        return Ok(Action::await_change());
    }
    Err(not_ready(format!(
        "waiting for Account {ns}/{account_name} to revoke the user key {} (creds issued at {}) \
         in NATS before the User is deleted",
        issued.public_key, issued.issued_at
    )))
}

async fn apply(u: &User, cx: &Context) -> Result<Action, Error> {
    super::checked(u.spec.validate())?;
    let (ns, name) = ns_name(u);
    let account_name = &u.spec.account_name;
    // Created together, Users usually come before their Account or its keys, and the Account's
    // creation and ID label trigger them, once the cache shows them. A new User's wait is only
    // reported once it lasts: in a burst of creations those reports were one write in seven,
    // and retries in backoff. Before reporting, the API server is asked: the cache may lag.
    let cached = (cx
        .caches
        .accounts
        .get(&ObjectRef::new(account_name).within(&ns)))
    .filter(|a| a.labels().contains_key(ACCOUNT_ID_LABEL));
    let quiet = quiet_wait_left(u);
    let account = match (cached, quiet) {
        (Some(a), _) => Account::clone(&a),
        (None, Some(left)) => return Ok(Action::requeue(left)),
        (None, None) => cx
            .api::<Account>(&ns)
            .get_opt(account_name)
            .await?
            .ok_or_else(|| {
                Error::errored(format!(
                    "spec.accountName: Account {ns}/{account_name} not found"
                ))
            })?,
    };
    let Some(account_id) = account.labels().get(ACCOUNT_ID_LABEL).cloned() else {
        let waiting = Set {
            type_: READY,
            status: false,
            reason: "NotReady",
            message: format!("Account {ns}/{account_name} has no account ID yet (not ready)"),
        };
        super::write_conditions(&cx.api::<User>(&ns), u, &[waiting]).await?;
        return Ok(Action::requeue(cx.config.resync));
    };
    check_signing_key(cx, u, &account).await?;
    if cx.config.pre_rendered {
        return super::pre_rendered::apply_user(u, cx, account_id).await;
    }
    let secrets = cx.api::<Secret>(&ns);
    let secret_name = output::user_secret_name(&name);
    let existing = secrets.get_opt(&secret_name).await?;
    if let Some(s) = &existing
        && s.labels().get(MANAGED_LABEL).map(String::as_str) != Some("true")
    {
        return Err(Error::errored(format!(
            "existing secret {ns}/{secret_name} not managed by nauth (no label {MANAGED_LABEL}: \"true\"); refusing to overwrite it"
        )));
    }
    let creds = existing
        .clone()
        .unwrap_or_else(|| keys::pending_user_creds(&ns, &name, &keys::new_user_key()));
    let closure = closure::user(cx, u, &account, creds).await?;
    let sources = KeySources {
        secrets: &closure.inputs.secrets,
        seed_root: None,
    };
    let options = cx.config.render_options();
    let rendered = render::render(&closure.inputs, sources, &closure.lock, now(), &options)
        .map_err(|d| super::invalid(&d))?;
    let ru = rendered
        .users
        .into_iter()
        .find(|r| r.namespace == ns && r.name == name)
        .ok_or_else(|| Error::errored("render produced no JWT for this user"))?;
    // The finalizer is in place before the creds exist: a User deleted from now on waits for
    // their revocation.
    write_labels(cx, u, &ru.claims.data, account_id.clone()).await?;
    let mut secret = output::user_secret_object(&ru);
    secret.metadata.owner_references = u.controller_owner_ref(&()).map(|r| vec![r]);
    let before = existing
        .as_ref()
        .and_then(|s| s.labels().get(USER_ACCOUNT_ID_LABEL));
    let notes = secret.metadata.annotations.get_or_insert_default();
    match before.filter(|id| **id != account_id) {
        Some(before) => {
            notes.insert(PREVIOUS_ACCOUNT_ID_ANNOTATION.into(), before.clone());
        }
        // Creds replaced in the same Account: recorded, so it revokes them even when it never
        // saw them (issued and replaced between two of its reconciles).
        None => {
            let replaced = existing.as_ref().and_then(closure::lock_entry);
            if let Some(r) = replaced.filter(|r| r.issued_at != ru.claims.data.iat) {
                let record = closure::replaced_annotation(&r);
                notes.insert(closure::REPLACED_ANNOTATION.into(), record);
            }
        }
    }
    let unchanged = existing
        .as_ref()
        .and_then(|s| closure::secret_value(s, "user.creds"))
        .is_some_and(|c| c == ru.creds);
    let placed = match (unchanged, existing) {
        (true, Some(existing)) => existing,
        // Creds in place stay; new ones could outlive the account (a User created as its
        // deletion checked for Users would not hold it).
        _ if account.meta().deletion_timestamp.is_some() => {
            return Err(not_ready(format!(
                "Account {ns}/{account_name} is being deleted: no creds are issued for it"
            )));
        }
        _ => {
            cx.echoes.expect(&writes::object(&secrets, &secret).await?);
            tracing::info!(user = %format!("{ns}/{name}"), key = %ru.claims.data.sub, "issued user creds");
            secret
        }
    };
    let waiting = match revocation_pending(&account, &placed, closure.config_map.as_ref()) {
        Some(waiting) => Some(waiting),
        None => move_pending(cx, u, &placed).await?,
    };
    if let Some(waiting) = waiting {
        // The Account's push usually follows within moments: only a wait that lasts is
        // reported; meanwhile the status keeps the generation it last reconciled.
        let age = Duration::from_secs(now().saturating_sub(ru.claims.data.iat).max(0) as u64);
        return match age < QUIET_WAIT {
            true => Ok(Action::requeue(REVOCATION_RECHECK)),
            false => Err(not_ready(waiting)),
        };
    }
    write_claims(cx, u).await
}

/// Why a User moved to another Account is not Ready yet: the Account it left still lets its
/// creds in until its JWT in NATS revokes them, which its JWT ConfigMap says by no longer
/// listing the User among its users. `None` when that Account is gone or only observes.
async fn move_pending(cx: &Context, u: &User, creds: &Secret) -> Result<Option<String>, Error> {
    let Some(previous) = creds.annotations().get(PREVIOUS_ACCOUNT_ID_ANNOTATION) else {
        return Ok(None);
    };
    let (ns, name) = ns_name(u);
    let left = (cx.caches.accounts.state().into_iter()).find(|a| {
        a.namespace().as_deref() == Some(&ns) && a.labels().get(ACCOUNT_ID_LABEL) == Some(previous)
    });
    let Some(left) = left.filter(|a| !super::account::observed(a)) else {
        return Ok(None);
    };
    let written = closure::account_config_map(cx, &ns, &left.name_any()).await?;
    let listed = (written.as_ref())
        .and_then(closure::recorded_users)
        .is_some_and(|users| users.contains_key(&format!("{ns}/{name}")));
    Ok(listed.then(|| {
        format!(
            "moved; waiting for Account {ns}/{} to revoke the creds it issued to this User in NATS",
            left.name_any()
        )
    }))
}

/// How often a User whose replaced creds are not revoked yet looks again, while it waits quietly.
const REVOCATION_RECHECK: Duration = Duration::from_secs(1);

/// Why the User is not Ready yet although its new creds are in place: the creds they replaced
/// in the same Account still work until the Account's JWT that revokes them is in NATS, which
/// its JWT ConfigMap (`written`, written once NATS accepted it) says. `None` when nothing is
/// left to revoke: no creds replaced, an Account that keeps replaced creds
/// (`nauth.io/revoke-on-reissue: "false"`) or only observes. The Account's claims changing
/// wakes the User (see [`waiting_of_account`]).
fn revocation_pending(
    account: &Account,
    creds: &Secret,
    written: Option<&ConfigMap>,
) -> Option<String> {
    let replaced = closure::replaced(creds)?;
    let keeps = account.annotations().get(REVOKE_ON_REISSUE_ANNOTATION);
    if keeps.map(String::as_str) == Some("false") || super::account::observed(account) {
        return None;
    }
    let revoked = (written.and_then(closure::lock_entry)).is_some_and(|jwt| {
        nauth_jwt::is_revoked(&jwt.revocations, &replaced.public_key, replaced.issued_at)
    });
    let (ns, account_name) = ns_name(account);
    (!revoked).then(|| {
        format!(
            "new creds issued; waiting for Account {ns}/{account_name} to revoke the replaced \
             creds (user key {}, issued at {}) in NATS",
            replaced.public_key, replaced.issued_at
        )
    })
}

/// How long a User created moments ago, with no status yet, still waits for its Account's ID
/// without saying so in its status; `None` once [`QUIET_WAIT`] has passed.
fn quiet_wait_left(u: &User) -> Option<Duration> {
    if !super::conditions::current(u).is_empty() {
        return None;
    }
    let created = u.meta().creation_timestamp.as_ref()?.0;
    let age = Timestamp::now().duration_since(created);
    let left = SignedDuration::try_from(QUIET_WAIT).ok()? - age;
    Duration::try_from(left).ok().filter(|d| !d.is_zero())
}

/// How long a new User waits for its Account's ID before its status says it waits.
const QUIET_WAIT: Duration = Duration::from_secs(10);

/// After the creds are issued (`jwt` their claims): the User's labels and NAuth's status,
/// `Ready=True`.
pub(super) async fn write_status(
    cx: &Context,
    u: &User,
    jwt: &nauth_jwt::ClaimsData,
    account_id: String,
) -> Result<Action, Error> {
    write_labels(cx, u, jwt, account_id).await?;
    write_claims(cx, u).await
}

/// The User's labels for creds with claims `jwt` (key, account ID, signer), and its finalizer.
async fn write_labels(
    cx: &Context,
    u: &User,
    jwt: &nauth_jwt::ClaimsData,
    account_id: String,
) -> Result<(), Error> {
    let labels = BTreeMap::from([
        ("user.nauth.io/id".to_string(), jwt.sub.clone()),
        (USER_ACCOUNT_ID_LABEL.to_string(), account_id),
        ("user.nauth.io/signed-by".to_string(), jwt.iss.clone()),
    ]);
    let api = cx.api::<User>(&u.namespace().unwrap_or_default());
    cx.write_labels(&api, u, &labels, Some(FINALIZER)).await
}

/// NAuth's status of a User whose creds are in place, `Ready=True`.
async fn write_claims(cx: &Context, u: &User) -> Result<Action, Error> {
    let api = cx.api::<User>(&u.namespace().unwrap_or_default());
    let spec = &u.spec;
    // NAuth's status.claims: a copy of the spec fields as given.
    let claims = UserClaims {
        account_name: Some(spec.account_name.clone()),
        display_name: spec.display_name.clone(),
        expires_at: None,
        permissions: spec.permission_limits.permissions.clone(),
        nats_limits: spec.permission_limits.nats_limits.clone(),
        user_limits: spec.permission_limits.user_limits.clone(),
    };
    let status = json!({ "claims": claims });
    super::write_reconciled(cx, &api, u, status).await?;
    Ok(Action::requeue(cx.config.resync))
}
