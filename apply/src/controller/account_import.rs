//! AccountImport: bound to its importing and exporting Accounts by their IDs (any namespace
//! for the exporter), its rules checked against the importing account and published with the
//! exporter's ID as the desired claim (the last valid generation is kept), and whether the
//! Account adopted it.

use std::collections::BTreeMap;
use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use nauth_render::api::ACCOUNT_ID_LABEL;
use nauth_render::api::{Account, AccountImport, AccountImportDesiredClaim};
use nauth_render::status;
use serde_json::json;

use super::account_export::{adopted, checked_child, not, ok};
use super::conditions::{self, READY, Set};
use super::{Context, Error, ns_name};
use crate::writes;

/// Label: the importing Account's ID.
pub const ACCOUNT_ID: &str = "accountimport.nauth.io/account-id";
/// Label: the exporting Account's ID.
pub const EXPORT_ACCOUNT_ID: &str = "accountimport.nauth.io/export-account-id";

/// Reconciles one AccountImport (see the module docs).
pub async fn reconcile(i: Arc<AccountImport>, cx: Arc<Context>) -> Result<Action, Error> {
    let result = apply(&i, &cx).await;
    if let Err(err) = &result {
        super::fail(&cx, &*i, err).await;
    }
    result
}

/// Retries after a short backoff.
pub fn error_policy(i: Arc<AccountImport>, error: &Error, cx: Arc<Context>) -> Action {
    super::retry(i, error, cx)
}

/// The AccountImports naming an Account as importer or exporter.
pub fn of_account(store: &Store<AccountImport>, a: &Account) -> Vec<ObjectRef<AccountImport>> {
    let (ns, name) = ns_name(a);
    store
        .state()
        .iter()
        .filter(|i| {
            let own = i.namespace().unwrap_or_default();
            let r = &i.spec.export_account_ref;
            let exporter_ns = if r.namespace.is_empty() {
                own.clone()
            } else {
                r.namespace.clone()
            };
            (i.spec.account_name == name && own == ns) || (r.name == name && exporter_ns == ns)
        })
        .map(|i| ObjectRef::from(i.as_ref()))
        .collect()
}

/// `BoundTo…` for the Account `ns/name`: its ID, or why there is none.
async fn bind<'a>(
    cx: &Context,
    type_: &'a str,
    ns: &str,
    name: &str,
) -> Result<(Set<'a>, Option<String>), Error> {
    let Some(a) = cx.api::<Account>(ns).get_opt(name).await? else {
        return Ok((
            not(type_, "NotFound", format!("Account {ns}/{name} not found")),
            None,
        ));
    };
    Ok(match a.labels().get(ACCOUNT_ID_LABEL) {
        Some(id) => (
            ok(type_, "OK", format!("Account ID: {id}")),
            Some(id.clone()),
        ),
        None => (
            not(
                type_,
                "Invalid",
                format!("Account {ns}/{name} not bound to an Account ID yet"),
            ),
            None,
        ),
    })
}

async fn apply(i: &AccountImport, cx: &Context) -> Result<Action, Error> {
    let api = cx.api::<AccountImport>(&ns_name(i).0);
    let bindings = ["BoundToAccount", "BoundToExportAccount"];
    checked_child(&api, i, &bindings, i.spec.validate()).await?;
    let (ns, _) = ns_name(i);
    let generation = i.metadata.generation.unwrap_or_default();
    let r = &i.spec.export_account_ref;
    let exporter_ns = if r.namespace.is_empty() {
        ns.clone()
    } else {
        r.namespace.clone()
    };
    let (bound, account_id) = bind(cx, "BoundToAccount", &ns, &i.spec.account_name).await?;
    let (bound_export, export_id) = bind(cx, "BoundToExportAccount", &exporter_ns, &r.name).await?;
    let mut sets = vec![bound, bound_export];
    let mut labels = BTreeMap::new();
    for (label, id) in [(ACCOUNT_ID, &account_id), (EXPORT_ACCOUNT_ID, &export_id)] {
        if let Some(id) = id {
            labels.insert(label.to_string(), id.clone());
        }
    }
    if !labels.is_empty() && labels.iter().any(|(k, v)| i.labels().get(k) != Some(v)) {
        cx.write_labels(&cx.api::<AccountImport>(&ns), i, &labels, None)
            .await?;
    }
    let mut desired = i.status.as_ref().and_then(|s| s.desired_claim.clone());
    let valid = match (&account_id, &export_id) {
        (None, _) => Err("import account ID is required".to_string()),
        (_, None) => Err("export account ID is required".to_string()),
        (Some(account), Some(exporter)) => status::import_rules(account, exporter, &i.spec.rules),
    };
    match valid {
        Ok(rules) => {
            desired = Some(AccountImportDesiredClaim {
                observed_generation: generation,
                rules,
            });
            sets.push(ok("ValidRules", "OK", "Rules validation successful".into()));
        }
        Err(problem) => sets.push(not("ValidRules", "NOK", problem)),
    }
    if let Some(a) = cx.api::<Account>(&ns).get_opt(&i.spec.account_name).await? {
        let adoptions = a.status.as_ref().and_then(|s| s.adoptions.as_ref());
        let uid = i.uid().unwrap_or_default();
        sets.push(adopted(
            adoptions.and_then(|x| x.imports.as_ref()),
            &uid,
            generation,
            "import",
        ));
    }
    let all_ok = sets.len() == 4 && sets.iter().all(|s| s.status);
    sets.push(if all_ok {
        ok(READY, "Ready", String::new())
    } else {
        not(READY, "NotReady", "not all conditions are met".into())
    });
    let previous = i
        .status
        .as_ref()
        .and_then(|s| s.reconcile.conditions.clone());
    let status = json!({
        "desiredClaim": desired,
        "conditions": conditions::apply_sorted(&previous.unwrap_or_default(), &sets, i.metadata.generation),
    });
    writes::status(&cx.api::<AccountImport>(&ns), i, status).await?;
    // Accounts of other namespaces are not watched: re-check until everything is bound.
    Ok(if all_ok {
        Action::await_change()
    } else {
        Action::requeue(super::RETRY)
    })
}
