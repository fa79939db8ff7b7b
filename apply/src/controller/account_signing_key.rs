//! AccountSigningKey: its Secret (generated and owned when managed and missing, read when
//! observed), its public key in status for the Accounts that trust it.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use nauth_render::api::AccountSigningKey;
use nauth_render::api::MANAGEMENT_POLICY_LABEL;
use nauth_render::keys::{KeyError, KeyErrorKind, KeySources};
use serde_json::json;

use super::conditions::{self, READY, Set};
use super::{Context, Error, ns_name};
use crate::{closure, keys, writes};

/// Reconciles one AccountSigningKey (see the module docs).
pub async fn reconcile(k: Arc<AccountSigningKey>, cx: Arc<Context>) -> Result<Action, Error> {
    let result = apply(&k, &cx).await;
    if let Err(err) = &result {
        super::fail(&cx, &*k, err).await;
    }
    result
}

/// Retries after a short backoff.
pub fn error_policy(k: Arc<AccountSigningKey>, error: &Error, cx: Arc<Context>) -> Action {
    super::retry(k, error, cx)
}

/// NAuth's reason for a key that cannot be read, by what is wrong with it.
fn reason(e: &KeyError) -> &'static str {
    match e.kind {
        KeyErrorKind::Conflict => "Conflict",
        KeyErrorKind::Missing => "NotFound",
        KeyErrorKind::Broken => "Invalid",
    }
}

async fn apply(k: &AccountSigningKey, cx: &Context) -> Result<Action, Error> {
    let (ns, name) = ns_name(k);
    let policy = k
        .labels()
        .get(MANAGEMENT_POLICY_LABEL)
        .cloned()
        .unwrap_or_default();
    let observed = policy == "observe";
    let secret_name = match (&k.spec.secret_name, observed) {
        (Some(n), _) => n.clone(),
        (None, true) => String::new(),
        (None, false) => format!("{name}-ac-sign"),
    };
    let secrets = cx.api::<Secret>(&ns);
    let mut secret = match secret_name.as_str() {
        "" => None,
        n => secrets.get_opt(n).await?,
    };
    if secret.is_none() && !observed && !cx.config.pre_rendered {
        let mut new = keys::signing_key_secret(&ns, &secret_name, &keys::new_account_key());
        new.metadata.owner_references = k.controller_owner_ref(&()).map(|r| vec![r]);
        writes::object(&secrets, &new).await?;
        secret = Some(new);
    }
    let inputs: Vec<_> = secret.into_iter().map(closure::object).collect();
    let sources = KeySources {
        secrets: &inputs,
        seed_root: None,
    };
    let key = sources
        .signing_key(&closure::object(k.clone()))
        .map_err(|e| Error::Invalid {
            reason: reason(&e),
            message: e.message,
        })?;
    let previous = k
        .status
        .as_ref()
        .and_then(|s| s.reconcile.conditions.clone());
    let conditions = conditions::apply_sorted(
        &previous.unwrap_or_default(),
        &[Set {
            type_: READY,
            status: true,
            reason: "Reconciled",
            message: String::new(),
        }],
        None,
    );
    let status = json!({
        "publicKey": key.public_key(),
        "secretName": secret_name,
        "managementPolicy": policy,
        "conditions": conditions,
        "observedGeneration": k.metadata.generation,
        "reconcileTimestamp": Time(Timestamp::now()),
        "operatorVersion": cx.config.version,
    });
    writes::status(&cx.api::<AccountSigningKey>(&ns), k, status).await?;
    Ok(Action::await_change())
}
