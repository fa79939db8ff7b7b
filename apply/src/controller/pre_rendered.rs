//! Pre-rendered mode (`--pre-rendered`): the cluster holds no account, signing or operator
//! seed. nauth-render (the CLI in CI, the Argo CD plugin, the KRM function) signs; its output is
//! applied with the custom resources. The controller only checks, pushes and reports:
//!
//! - an Account's JWT ConfigMap (`<account>-nats-account-jwt`) must be what the current spec
//!   renders to: its claims hash is compared with a keyless preview of the spec (render's
//!   [`render::account`] with [`Keys::Public`], the public keys taken from the ConfigMap and
//!   the JWT), else `Ready=False/RenderOutdated` and nothing is pushed. The push checks the
//!   signature and that the issuer is a key of an operator every server trusts (their VARZ),
//!   and a resolver holding a newer JWT is never overwritten (the default mode's resolver sync);
//! - a User's creds Secret must belong to its Account's ID; the revocations of removed or
//!   re-issued Users are in the re-rendered account JWT, and a deleted User waits for them as
//!   in the default mode;
//! - a deleted Account is removed from the resolvers with the deletion request render emits
//!   for the Accounts its lock keeps as removed (`<account>-nats-account-deletion`); its
//!   finalizer waits for that request and completes once no resolver holds the account.
//!
//! Not yet supported here: AccountSigningKeys (their public keys are in no rendered object).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::ResourceExt;
use kube::runtime::controller::Action;
use nauth_jwt::{AnyClaims, Claims, decode};
use nauth_render::api::{ACCOUNT_ID_LABEL, Account, User};
use nauth_render::keys::Keys;
use nauth_render::lock::{Lock, owner};
use nauth_render::output::{self, DELETION_KEY};
use nauth_render::render::{self, Members, RenderedAccount};

use super::{Context, Error, now, ns_name};
use crate::closure::{self, Cluster};

/// Condition reason: render's output for the object is not in the cluster.
const NOT_RENDERED: &str = "NotRendered";
/// Condition reason: the output was rendered from another spec than the object's.
const RENDER_OUTDATED: &str = "RenderOutdated";

fn invalid(reason: &'static str, message: String) -> Error {
    Error::Invalid { reason, message }
}

/// Checks the Account's rendered JWT against its spec and the servers and pushes it; the caller
/// writes labels and status as the default mode does.
pub(super) async fn publish(
    a: &Account,
    cx: &Context,
    cluster: &Cluster,
) -> Result<(closure::Closure, RenderedAccount), Error> {
    let (ns, name) = ns_name(a);
    let written = closure::account_config_map(cx, &ns, &name).await?;
    let cm = format!("ConfigMap {ns}/{}", output::account_config_map_name(&name));
    let jwt = (written.as_ref().and_then(|w| w.data.as_ref()?.get("account.jwt")).cloned())
        .ok_or_else(|| {
            invalid(
                NOT_RENDERED,
                format!("no {cm} with account.jwt: render the Account with nauth-render and apply its output"),
            )
        })?;
    let claims = account_claims(&jwt).map_err(|e| invalid(NOT_RENDERED, format!("{cm}: {e}")))?;
    let claims_hash = render::claims_hash(&claims).map_err(Error::errored)?;
    bind_id(a, cx, cluster, &jwt).await?;
    let closure = closure::account(cx, a, cluster).await?;
    let lock = public_keys(cx, a, &closure, cluster, &claims).await?;
    let expected = preview(cx, a, &closure, &lock)?;
    if expected.claims_hash != claims_hash {
        return Err(invalid(
            RENDER_OUTDATED,
            format!(
                "{cm} was rendered from another spec (claims hash {claims_hash}; the current \
                 spec gives {}): re-render with nauth-render and apply the output; the JWT is \
                 not pushed",
                expected.claims_hash
            ),
        ));
    }
    let ra = RenderedAccount {
        namespace: ns,
        name,
        jwt,
        claims,
        claims_hash,
        adoptions: expected.adoptions,
        revocations: expected.revocations,
        members: Default::default(),
    };
    super::account::sync_resolvers(cx, a, cluster, &ra).await?;
    Ok((closure, ra))
}

/// Labels a new Account with the ID of its rendered JWT once the cluster trusts its issuer,
/// before the JWT is compared and pushed: its AccountImports bind to the label, and the
/// comparison needs their rules, so waiting for the push would wait for ever.
async fn bind_id(a: &Account, cx: &Context, cluster: &Cluster, jwt: &str) -> Result<(), Error> {
    if a.labels().contains_key(ACCOUNT_ID_LABEL) {
        return Ok(());
    }
    let conn = cx.nats.get(&cluster.key, &cluster.config).await?;
    let trusted = conn.membership().await?.trust.verify_account(jwt, now())?;
    let (ns, _) = ns_name(a);
    let id = BTreeMap::from([(ACCOUNT_ID_LABEL.to_string(), trusted.data.sub)]);
    cx.write_labels(&cx.api::<Account>(&ns), a, &id, None).await
}

/// The claims of an account JWT, whose signature verifies.
fn account_claims(jwt: &str) -> Result<Claims<nauth_jwt::Account>, String> {
    match decode(jwt).map(|d| d.claims) {
        Ok(AnyClaims::Account(claims)) => Ok(claims),
        Ok(_) => Err("account.jwt is not an account JWT".into()),
        Err(e) => Err(format!("account.jwt: {e}")),
    }
}

/// The lock a keyless preview of Account `a` needs: its record (from its ConfigMap, in the
/// closure), the operator key that issued `claims`, its own signing key, and the IDs and own
/// signing keys of the Accounts it imports from, from their ConfigMaps.
async fn public_keys(
    cx: &Context,
    a: &Account,
    closure: &closure::Closure,
    cluster: &Cluster,
    claims: &Claims<nauth_jwt::Account>,
) -> Result<Lock, Error> {
    let mut lock = closure.lock.clone();
    let key = closure::object(a.clone()).key();
    (lock.signing_keys).insert(owner("NatsCluster", &cluster.key), claims.data.iss.clone());
    own_signing_key(&mut lock, &key, claims)?;
    for exporter in closure.inputs.accounts.iter().filter(|e| e.key() != key) {
        let (ns, name) = (exporter.namespace(), exporter.name());
        let Some(written) = closure::account_config_map(cx, ns, name).await? else {
            continue;
        };
        let jwt = written.data.as_ref().and_then(|d| d.get("account.jwt"));
        if let (Some(entry), Some(Ok(claims))) = (
            closure::lock_entry(&written),
            jwt.map(|j| account_claims(j)),
        ) {
            lock.accounts.insert(exporter.key(), entry);
            own_signing_key(&mut lock, &exporter.key(), &claims)?;
        }
    }
    Ok(lock)
}

/// Records the Account `key`'s own signing key: the one unscoped signing key of its JWT.
fn own_signing_key(
    lock: &mut Lock,
    key: &str,
    claims: &Claims<nauth_jwt::Account>,
) -> Result<(), Error> {
    let unscoped: Vec<&String> = (claims.nats.signing_keys.0.iter())
        .filter(|(_, scope)| scope.is_none())
        .map(|(k, _)| k)
        .collect();
    match unscoped.as_slice() {
        [own] => {
            lock.signing_keys
                .insert(owner("Account", key), own.to_string());
            Ok(())
        }
        _ => Err(Error::errored(format!(
            "the JWT of Account {key} trusts {} unscoped signing keys: pre-rendered mode tells \
             an Account's own key only when it is the one (AccountSigningKeys are not supported \
             in this mode yet)",
            unscoped.len()
        ))),
    }
}

/// What the current spec of `a` renders to with the public keys of `lock` and no seed.
fn preview(
    cx: &Context,
    a: &Account,
    closure: &closure::Closure,
    lock: &Lock,
) -> Result<RenderedAccount, Error> {
    let options = cx.config.render_options();
    let rcx = render::Context {
        inputs: &closure.inputs,
        keys: Keys::Public(lock),
        epoch: now(),
        options: &options,
    };
    let identities = render::Identities::resolve(&rcx, lock);
    let object = closure::object(a.clone());
    let previous = lock.accounts.get(&object.key());
    // The revocations rendered are in the record; no user is decided about here.
    let result = render::account(&rcx, &identities, &object, previous, &Members::default());
    if result.has_errors() {
        return Err(super::invalid(&result.diagnostics));
    }
    (result.output).ok_or_else(|| Error::errored("render previews no JWT for this account"))
}

/// Checks that the User's rendered creds belong to its Account (`account_id`), and writes
/// labels and status as the default mode does.
pub(super) async fn apply_user(
    u: &User,
    cx: &Context,
    account_id: String,
) -> Result<Action, Error> {
    let (ns, name) = ns_name(u);
    let secret_name = output::user_secret_name(&name);
    let secret = format!("Secret {ns}/{secret_name}");
    let creds = (cx.api::<Secret>(&ns))
        .get_opt(&secret_name)
        .await?
        .and_then(|s| closure::secret_value(&s, "user.creds"))
        .ok_or_else(|| {
            invalid(
                NOT_RENDERED,
                format!("no {secret} with user.creds: render the User with nauth-render and apply its output"),
            )
        })?;
    let claims = match user_jwt(&creds).map(decode).map(|d| d.map(|d| d.claims)) {
        Some(Ok(AnyClaims::User(claims))) => claims,
        _ => {
            return Err(invalid(
                NOT_RENDERED,
                format!("{secret}: user.creds holds no valid user JWT"),
            ));
        }
    };
    let issuer_account = match claims.nats.issuer_account.as_str() {
        "" => claims.data.iss.as_str(),
        account => account,
    };
    if issuer_account != account_id {
        return Err(invalid(
            RENDER_OUTDATED,
            format!(
                "{secret} holds creds of account {issuer_account}, but Account \
                 {ns}/{} is account {account_id}: re-render with nauth-render and apply the \
                 output",
                u.spec.account_name
            ),
        ));
    }
    // Creds the Account's rendered JWT revokes (an older render applied over a newer one)
    // would be refused by NATS: not Ready.
    let revoked = closure::account_config_map(cx, &ns, &u.spec.account_name)
        .await?
        .and_then(|cm| cm.data?.get("account.jwt").cloned())
        .and_then(|jwt| account_claims(&jwt).ok())
        .is_some_and(|a| {
            nauth_jwt::is_revoked(&a.nats.revocations, &claims.data.sub, claims.data.iat)
        });
    if revoked {
        return Err(invalid(
            RENDER_OUTDATED,
            format!(
                "{secret} holds creds issued at {} that the JWT of Account {ns}/{} revokes (an \
                 older render?): re-render with nauth-render and apply the output",
                claims.data.iat, u.spec.account_name
            ),
        ));
    }
    super::user::write_status(cx, u, &claims.data, account_id).await
}

/// The JWT of a creds file (its first framed block); the seed is not read.
fn user_jwt(creds: &str) -> Option<&str> {
    let (_, rest) = creds.split_once("-----BEGIN NATS USER JWT-----")?;
    let (jwt, _) = rest.split_once("------END NATS USER JWT------")?;
    Some(jwt.trim())
}

/// Deletes Account `a` (ID `id`) from the resolvers with the request render emitted for it,
/// once it is there; done when no resolver holds the account.
pub(super) async fn remove_account(cx: &Context, a: &Account, id: &str) -> Result<Action, Error> {
    let (ns, name) = ns_name(a);
    let cluster = super::account::bound_cluster(cx, a).await?;
    let conn = cx.nats.get(&cluster.key, &cluster.config).await?;
    if conn.lookup(id).await?.is_none() {
        return Ok(Action::await_change());
    }
    let cm_name = output::account_deletion_config_map_name(&name);
    let request = (cx.api::<ConfigMap>(&ns).get_opt(&cm_name).await?)
        .filter(|cm| cm.labels().get(ACCOUNT_ID_LABEL).map(String::as_str) == Some(id))
        .and_then(|cm| cm.data?.remove(DELETION_KEY))
        .ok_or_else(|| {
            invalid(
                "AwaitingDeletionRequest",
                format!(
                    "account {id} is still in NATS cluster {}: waiting for its deletion request \
                     (ConfigMap {ns}/{cm_name}, which nauth-render emits once the Account is \
                     gone from the rendered tree); re-render and apply",
                    cluster.key
                ),
            )
        })?;
    conn.send_deletion(&request, id).await?;
    if conn.lookup(id).await?.is_some() {
        return Err(Error::errored(format!(
            "NATS cluster {} still holds account {id} after its deletion request",
            cluster.key
        )));
    }
    tracing::info!(account = %format!("{ns}/{name}"), id = %id, "deleted account from NATS with its rendered deletion request");
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwt_of_a_creds_file_is_its_first_block() {
        let creds = nauth_jwt::creds::format_user_creds("eyJ.a.b", "a seed");
        assert_eq!(user_jwt(&creds), Some("eyJ.a.b"));
        assert_eq!(user_jwt("no creds"), None);
    }
}
