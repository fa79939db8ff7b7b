//! AccountExport: its rules are checked and published as the desired claim (the last valid
//! generation is kept), it is bound to its Account by the Account's ID, and it reports whether
//! the Account adopted it. No finalizer: the Account re-renders without it.

use std::collections::BTreeMap;
use std::sync::Arc;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use nauth_render::api::ACCOUNT_ID_LABEL;
use nauth_render::api::{Account, AccountExport, AccountExportDesiredClaim};
use nauth_render::status;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::conditions::{self, READY, Set};
use super::{Context, Error, ns_name};
use crate::writes;

/// Label: the ID of the Account the export is bound to.
pub const ACCOUNT_ID: &str = "accountexport.nauth.io/account-id";

/// Reconciles one AccountExport (see the module docs).
pub async fn reconcile(e: Arc<AccountExport>, cx: Arc<Context>) -> Result<Action, Error> {
    let result = apply(&e, &cx).await;
    if let Err(err) = &result {
        super::fail(&cx, &*e, err).await;
    }
    result
}

/// Retries after a short backoff.
pub fn error_policy(e: Arc<AccountExport>, error: &Error, cx: Arc<Context>) -> Action {
    super::retry(e, error, cx)
}

/// The AccountExports naming an Account, re-checked when it changes (its ID, its adoptions).
pub fn of_account(store: &Store<AccountExport>, a: &Account) -> Vec<ObjectRef<AccountExport>> {
    let (ns, name) = ns_name(a);
    store
        .state()
        .iter()
        .filter(|e| e.spec.account_name == name && e.namespace().as_deref() == Some(&ns))
        .map(|e| ObjectRef::from(e.as_ref()))
        .collect()
}

/// NAuth's `AdoptedByAccount` from the Account's adoption entry for the child `uid`.
pub(super) fn adopted<'a>(
    entries: Option<&Vec<nauth_render::api::AccountAdoption>>,
    uid: &str,
    generation: i64,
    kind: &str,
) -> Set<'a> {
    const TYPE: &str = "AdoptedByAccount";
    let entry = entries.into_iter().flatten().find(|a| a.uid == uid);
    let (status, reason, message) = match entry {
        None => (
            false,
            "Adopting",
            format!("waiting for account to adopt {kind}"),
        ),
        Some(a) if a.status.desired_claim_observed_generation != Some(generation) => (
            false,
            "Adopting",
            format!("waiting for account to adopt generation {generation}"),
        ),
        Some(a) if a.status.status == nauth_render::api::AdoptionState::True => {
            (true, "OK", "Adopted".to_string())
        }
        Some(a) => (
            false,
            "Failed",
            format!(
                "{}: {}",
                a.status.reason,
                a.status.message.clone().unwrap_or_default()
            ),
        ),
    };
    Set {
        type_: TYPE,
        status,
        reason,
        message,
    }
}

async fn apply(e: &AccountExport, cx: &Context) -> Result<Action, Error> {
    let api = cx.api::<AccountExport>(&ns_name(e).0);
    checked_child(&api, e, &["BoundToAccount"], e.spec.validate()).await?;
    let (ns, _) = ns_name(e);
    let generation = e.metadata.generation.unwrap_or_default();
    let mut sets = Vec::new();
    let mut desired = e.status.as_ref().and_then(|s| s.desired_claim.clone());
    match status::export_rules_problem(&e.spec.rules) {
        None => {
            desired = Some(AccountExportDesiredClaim {
                observed_generation: generation,
                rules: e.spec.rules.clone(),
            });
            sets.push(ok("ValidRules", "OK", String::new()));
        }
        Some(problem) => sets.push(not("ValidRules", "Invalid", problem)),
    }
    let account = cx.api::<Account>(&ns).get_opt(&e.spec.account_name).await?;
    let mut account_id = None;
    match &account {
        None => sets.push(not(
            "BoundToAccount",
            "Failed",
            format!(
                "failed to read account: Account {ns}/{} not found",
                e.spec.account_name
            ),
        )),
        Some(a) => {
            account_id = a.labels().get(ACCOUNT_ID_LABEL).cloned();
            match (e.labels().get(ACCOUNT_ID), &account_id) {
                (Some(bound), Some(id)) if bound != id => sets.push(not(
                    "BoundToAccount",
                    "Conflict",
                    format!("account export is already bound to account: {bound}"),
                )),
                (bound, id) => {
                    if bound.is_none()
                        && let Some(id) = id
                    {
                        let labels = BTreeMap::from([(ACCOUNT_ID.to_string(), id.clone())]);
                        cx.write_labels(&cx.api::<AccountExport>(&ns), e, &labels, None)
                            .await?;
                    }
                    sets.push(ok("BoundToAccount", "OK", String::new()));
                }
            }
            let adoptions = a.status.as_ref().and_then(|s| s.adoptions.as_ref());
            let uid = e.uid().unwrap_or_default();
            sets.push(adopted(
                adoptions.and_then(|x| x.exports.as_ref()),
                &uid,
                generation,
                "export",
            ));
        }
    }
    let all_ok = sets.iter().all(|s| s.status)
        && sets.len() == 3
        && desired.as_ref().map(|d| d.observed_generation) == Some(generation);
    sets.push(if all_ok {
        ok(READY, "OK", String::new())
    } else {
        not(READY, "Reconciling", "All conditions not met".into())
    });
    let previous = e
        .status
        .as_ref()
        .and_then(|s| s.reconcile.conditions.clone());
    let status = json!({
        "accountID": account_id,
        "desiredClaim": desired,
        "conditions": conditions::apply_sorted(&previous.unwrap_or_default(), &sets, None),
    });
    writes::status(&cx.api::<AccountExport>(&ns), e, status).await?;
    // Accounts of other namespaces are not watched: re-check until everything is bound.
    Ok(if all_ok {
        Action::await_change()
    } else {
        Action::requeue(super::RETRY)
    })
}

/// Fails with the spec's rule errors (see [`super::checked`]), after setting `bindings` and
/// `AdoptedByAccount` False: an export or import whose spec names no Account is taken by none,
/// and those conditions must not stay True from before.
pub(super) async fn checked_child<K>(
    api: &Api<K>,
    child: &K,
    bindings: &[&str],
    errors: Vec<nauth_render::api::FieldError>,
) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let Err(error) = super::checked(errors) else {
        return Ok(());
    };
    let sets: Vec<Set> = (bindings.iter().chain(&["AdoptedByAccount"]))
        .map(|type_| not(type_, "Failed", error.to_string()))
        .collect();
    let conditions = conditions::apply_sorted(&conditions::current(child), &sets, None);
    writes::status(api, child, json!({ "conditions": conditions })).await?;
    Err(error)
}

pub(super) fn ok<'a>(type_: &'a str, reason: &'static str, message: String) -> Set<'a> {
    Set {
        type_,
        status: true,
        reason,
        message,
    }
}

pub(super) fn not<'a>(type_: &'a str, reason: &'static str, message: String) -> Set<'a> {
    Set {
        type_,
        status: false,
        reason,
        message,
    }
}
