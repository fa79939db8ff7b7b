//! NAuth's AccountExport and AccountImport e2e scenarios against the real controller binary:
//! binding labels, desired claims kept from the last valid generation, adoption entries and the
//! children's conditions, and (for an import of an export) messages really crossing accounts.

use futures_util::StreamExt;
use kube::ResourceExt;
use kube::api::Api;
use nauth_render::api::{Account, AccountExport, AccountImport, AdoptionState, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    Controller, TIMEOUT, account, apply, apply_until, condition, creds, has_condition, ready,
    resource, setup, user, wait_for,
};
use nauth_tests::nats;
use serde_json::{Value, json};

fn stream(name: &str, subject: &str) -> Value {
    json!({"name": name, "subject": subject, "type": "stream"})
}

fn service(name: &str, subject: &str) -> Value {
    json!({"name": name, "subject": subject, "type": "service"})
}

/// An AccountExport of `my-account` with one stream rule `(name, subject)`.
fn export(ns: &str, name: &str, (rule, subject): (&str, &str)) -> Value {
    let rules = json!([stream(rule, subject)]);
    resource(
        "AccountExport",
        ns,
        name,
        json!({"accountName": "my-account", "rules": rules}),
    )
}

fn import(ns: &str, name: &str, (ens, exporter): (&str, &str), rules: Value) -> Value {
    resource(
        "AccountImport",
        ns,
        name,
        json!({"accountName": "import-account",
               "exportAccountRef": {"name": exporter, "namespace": ens}, "rules": rules}),
    )
}

/// `Ok` when the export or import `uid` has an adoption entry of `status` at `generation`.
fn adopted_as(
    a: &Account,
    imports: bool,
    uid: &str,
    status: AdoptionState,
    generation: i64,
) -> Result<(), String> {
    let adoptions = a
        .status
        .as_ref()
        .and_then(|s| s.adoptions.clone())
        .unwrap_or_default();
    let entries = if imports {
        adoptions.imports
    } else {
        adoptions.exports
    };
    let entry = entries
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.uid == uid);
    match entry {
        Some(e)
            if e.status.status == status
                && e.status.desired_claim_observed_generation == Some(generation) =>
        {
            Ok(())
        }
        other => Err(format!("adoption of {uid} is {other:?}")),
    }
}

fn export_subjects(a: &Account) -> Vec<String> {
    let claims = a
        .status
        .as_ref()
        .and_then(|s| s.claims.clone())
        .unwrap_or_default();
    claims
        .exports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| e.subject)
        .collect()
}

fn desired_generation(e: &AccountExport) -> Option<i64> {
    e.status
        .as_ref()?
        .desired_claim
        .as_ref()
        .map(|d| d.observed_generation)
}

/// A fresh namespace set up for NAuth (see [`setup`]), with (if `with_account`) the Account
/// `my-account` applied, and its controller started.
async fn controlled_namespace(
    prefix: &str,
    with_account: bool,
) -> (kube::Client, String, Controller) {
    let client = client().await;
    let ns = fresh_namespace(&client, prefix).await;
    setup(&client, &ns).await;
    if with_account {
        apply(&client, &ns, account(&ns, "my-account", json!({}))).await;
    }
    let controller = Controller::start(&ns, &[]).await;
    (client, ns, controller)
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_export_is_bound_adopted_and_updated() {
    let (client, ns, _controller) = controlled_namespace("ctl-export", true).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let exports: Api<AccountExport> = Api::namespaced(client.clone(), &ns);
    let a = wait_for(&accounts, "my-account", ready).await;
    let id = a.labels()["account.nauth.io/id"].clone();
    let e = apply_until(
        &client,
        &exports,
        export(&ns, "my-account-export", ("test-rule", "export-account.>")),
        |e| has_condition(e, "Ready", "True", "OK"),
    )
    .await;
    assert_eq!(e.labels()["accountexport.nauth.io/account-id"], id);
    let status = e.status.clone().unwrap();
    assert_eq!(status.account_id.as_deref(), Some(id.as_str()));
    assert_eq!(desired_generation(&e), Some(1));
    for t in ["BoundToAccount", "ValidRules", "AdoptedByAccount"] {
        has_condition(&e, t, "True", "OK").unwrap();
    }
    let types: Vec<_> = status
        .reconcile
        .conditions
        .unwrap()
        .into_iter()
        .map(|c| c.type_)
        .collect();
    assert_eq!(
        types,
        ["AdoptedByAccount", "BoundToAccount", "Ready", "ValidRules"]
    );
    let uid = e.uid().unwrap();
    let a = wait_for(&accounts, "my-account", |a| {
        adopted_as(a, false, &uid, AdoptionState::True, 1)
    })
    .await;
    assert_eq!(export_subjects(&a), ["export-account.>"]);

    apply(
        &client,
        &ns,
        export(
            &ns,
            "my-account-export",
            ("updated-rule", "export-account-updated.>"),
        ),
    )
    .await;
    wait_for(&accounts, "my-account", |a| {
        adopted_as(a, false, &uid, AdoptionState::True, 2)
    })
    .await;
    let a = wait_for(&accounts, "my-account", |a| {
        (export_subjects(a) == ["export-account-updated.>"])
            .then_some(())
            .ok_or("old claims".into())
    })
    .await;
    ready(&a).unwrap();
    wait_for(&exports, "my-account-export", |e| {
        has_condition(e, "Ready", "True", "OK")
    })
    .await;

    // Replaced without spec (and so without the controller's labels), the export names no
    // Account: not bound, not adopted, its subjects leave the Account's claims, and the
    // controller settles instead of rewriting the status.
    let (dynamic, _) =
        nauth_tests::cluster::dynamic_api(&client, "nauth.io/v1alpha1", "AccountExport", &ns)
            .await
            .unwrap();
    let live = exports.get("my-account-export").await.unwrap();
    let bare: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "nauth.io/v1alpha1", "kind": "AccountExport",
        "metadata": {"name": "my-account-export", "namespace": &ns,
                     "resourceVersion": live.metadata.resource_version}}))
    .unwrap();
    dynamic
        .replace("my-account-export", &Default::default(), &bare)
        .await
        .unwrap();
    let e = wait_for(&exports, "my-account-export", |e| {
        has_condition(e, "AdoptedByAccount", "False", "Failed")
    })
    .await;
    has_condition(&e, "BoundToAccount", "False", "Failed").unwrap();
    has_condition(&e, "Ready", "False", "Errored").unwrap();
    wait_for(&accounts, "my-account", |a| {
        export_subjects(a)
            .is_empty()
            .then_some(())
            .ok_or("old claims".into())
    })
    .await;
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_export_conflict_and_invalid_update_keep_the_first_and_last_valid_rules() {
    let (client, ns, _controller) = controlled_namespace("ctl-export-conflict", true).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let exports: Api<AccountExport> = Api::namespaced(client.clone(), &ns);
    wait_for(&accounts, "my-account", ready).await;
    apply_until(
        &client,
        &exports,
        export(&ns, "a", ("conflicting-a", "conflict.>")),
        |e| has_condition(e, "Ready", "True", "OK"),
    )
    .await;
    let b = apply_until(
        &client,
        &exports,
        export(&ns, "b", ("conflicting-b", "conflict.*")),
        |e| has_condition(e, "AdoptedByAccount", "False", "Failed"),
    )
    .await;
    has_condition(&b, "Ready", "False", "Reconciling").unwrap();
    let uid = b.uid().unwrap();
    let a = wait_for(&accounts, "my-account", |a| {
        adopted_as(a, false, &uid, AdoptionState::False, 1)
    })
    .await;
    let adoptions = a
        .status
        .clone()
        .unwrap()
        .adoptions
        .unwrap()
        .exports
        .unwrap();
    let entry = adoptions.iter().find(|e| e.uid == uid).unwrap();
    assert_eq!(entry.status.reason, "Conflict");
    assert_eq!(export_subjects(&a), ["conflict.>"]);

    // An invalid update of the adopted export: the account keeps its generation-1 rules.
    let e = apply_until(
        &client,
        &exports,
        export(&ns, "a", ("invalid-rule", ".")),
        |e| has_condition(e, "ValidRules", "False", "Invalid"),
    )
    .await;
    assert_eq!(desired_generation(&e), Some(1));
    assert_eq!(e.metadata.generation, Some(2));
    has_condition(&e, "AdoptedByAccount", "False", "Adopting").unwrap();
    let (_, _, message) = condition(&e, "AdoptedByAccount").unwrap();
    assert_eq!(message, "waiting for account to adopt generation 2");
    let a = wait_for(&accounts, "my-account", ready).await;
    assert_eq!(export_subjects(&a), ["conflict.>"]);
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_export_before_its_account_binds_once_the_account_exists() {
    let (client, ns, _controller) = controlled_namespace("ctl-export-missing", false).await;
    let exports: Api<AccountExport> = Api::namespaced(client.clone(), &ns);
    let e = apply_until(
        &client,
        &exports,
        export(
            &ns,
            "my-account-export",
            ("recovery-rule", "export-missing-account.>"),
        ),
        |e| has_condition(e, "BoundToAccount", "False", "Failed"),
    )
    .await;
    assert_eq!(desired_generation(&e), Some(1));
    apply(&client, &ns, account(&ns, "my-account", json!({}))).await;
    wait_for(&exports, "my-account-export", |e| {
        has_condition(e, "Ready", "True", "OK")
    })
    .await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let a = wait_for(&accounts, "my-account", |a| {
        (export_subjects(a) == ["export-missing-account.>"])
            .then_some(())
            .ok_or("not adopted".into())
    })
    .await;
    ready(&a).unwrap();
}

/// Two Accounts in `ns` (or the exporter in `export_ns`), the exporter exporting `shared.>`.
async fn import_scene(
    prefix: &str,
    cross: bool,
) -> (kube::Client, String, String, Vec<Controller>) {
    let client = client().await;
    let ns = fresh_namespace(&client, prefix).await;
    let export_ns = if cross {
        fresh_namespace(&client, &format!("{prefix}-x")).await
    } else {
        ns.clone()
    };
    setup(&client, &ns).await;
    if cross {
        setup(&client, &export_ns).await;
    }
    let exports = json!({"exports": [{"name": "shared", "subject": "shared.>", "type": "stream"},
                                     {"name": "svc", "subject": "svc.request", "type": "service"}]});
    apply(
        &client,
        &export_ns,
        account(&export_ns, "export-account", exports),
    )
    .await;
    apply(&client, &ns, account(&ns, "import-account", json!({}))).await;
    let mut controllers = vec![Controller::start(&ns, &[]).await];
    if cross {
        controllers.push(Controller::start(&export_ns, &[]).await);
    }
    (client, ns, export_ns, controllers)
}

fn import_ready(i: &AccountImport) -> Result<(), String> {
    has_condition(i, "Ready", "True", "Ready")
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_import_binds_both_accounts_and_messages_cross() {
    for cross in [false, true] {
        let (client, ns, export_ns, _controllers) = import_scene("ctl-import", cross).await;
        apply(
            &client,
            &ns,
            import(
                &ns,
                "my-account-import",
                (&export_ns, "export-account"),
                json!([stream("initial-rule", "shared.>")]),
            ),
        )
        .await;
        let imports: Api<AccountImport> = Api::namespaced(client.clone(), &ns);
        let i = wait_for(&imports, "my-account-import", import_ready).await;
        let exporter = Api::<Account>::namespaced(client.clone(), &export_ns)
            .get("export-account")
            .await
            .unwrap();
        let exporter_id = exporter.labels()["account.nauth.io/id"].clone();
        assert_eq!(
            i.labels()["accountimport.nauth.io/export-account-id"],
            exporter_id
        );
        let desired = i.status.clone().unwrap().desired_claim.unwrap();
        assert_eq!(desired.rules[0].account, exporter_id);
        for t in [
            "BoundToAccount",
            "BoundToExportAccount",
            "ValidRules",
            "AdoptedByAccount",
        ] {
            let (status, _, _) = condition(&i, t).unwrap();
            assert_eq!(status, "True", "{t}");
        }
        let (_, _, message) = condition(&i, "BoundToExportAccount").unwrap();
        assert_eq!(message, format!("Account ID: {exporter_id}"));
        let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
        let a = wait_for(&accounts, "import-account", |a| {
            adopted_as(a, true, &i.uid().unwrap(), AdoptionState::True, 1)
        })
        .await;
        let imported = a.status.unwrap().claims.unwrap().imports.unwrap();
        assert_eq!(imported[0].account.as_deref(), Some(exporter_id.as_str()));

        // A message published in the exporting account arrives in the importing one.
        apply(
            &client,
            &export_ns,
            user(
                &export_ns,
                "producer",
                json!({"accountName": "export-account"}),
            ),
        )
        .await;
        apply(
            &client,
            &ns,
            user(&ns, "consumer", json!({"accountName": "import-account"})),
        )
        .await;
        wait_for(
            &Api::<User>::namespaced(client.clone(), &export_ns),
            "producer",
            ready,
        )
        .await;
        wait_for(
            &Api::<User>::namespaced(client.clone(), &ns),
            "consumer",
            ready,
        )
        .await;
        let (consumer, _) = nats::connect(&creds(&client, &ns, "consumer").await, TIMEOUT).await;
        let mut sub = consumer.subscribe("shared.>").await.unwrap();
        nats::subscribed(&consumer, &["shared.>"]).await;
        let (producer, _) =
            nats::connect(&creds(&client, &export_ns, "producer").await, TIMEOUT).await;
        producer.publish("shared.hello", "hi".into()).await.unwrap();
        producer.flush().await.unwrap();
        let got = tokio::time::timeout(TIMEOUT, sub.next())
            .await
            .expect("the imported message")
            .unwrap();
        assert_eq!(got.payload.as_ref(), b"hi");
    }
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_import_conflict_and_invalid_update() {
    let (client, ns, _, _controller) = import_scene("ctl-import-conflict", false).await;
    let imports: Api<AccountImport> = Api::namespaced(client.clone(), &ns);
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    apply_until(
        &client,
        &imports,
        import(
            &ns,
            "a",
            (&ns, "export-account"),
            json!([service("conflicting-a", "svc.request")]),
        ),
        import_ready,
    )
    .await;
    let b = apply_until(
        &client,
        &imports,
        import(
            &ns,
            "b",
            (&ns, "export-account"),
            json!([service("conflicting-b", "svc.request")]),
        ),
        |i| has_condition(i, "AdoptedByAccount", "False", "Failed"),
    )
    .await;
    has_condition(&b, "Ready", "False", "NotReady").unwrap();
    let a = wait_for(&accounts, "import-account", |a| {
        adopted_as(a, true, &b.uid().unwrap(), AdoptionState::False, 1)
    })
    .await;
    assert_eq!(a.status.unwrap().claims.unwrap().imports.unwrap().len(), 1);

    // Duplicate service rules are invalid: the last valid claim stays.
    let twice = json!([service("one", "svc.request"), service("two", "svc.request")]);
    let i = apply_until(
        &client,
        &imports,
        import(&ns, "a", (&ns, "export-account"), twice),
        |i| has_condition(i, "ValidRules", "False", "NOK"),
    )
    .await;
    assert_eq!(
        i.status.unwrap().desired_claim.unwrap().observed_generation,
        1
    );
    let a = wait_for(&accounts, "import-account", ready).await;
    let kept = a.status.unwrap().claims.unwrap().imports.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].name.as_deref(), Some("conflicting-a"));
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_import_before_its_accounts_recovers_once_they_exist() {
    let (client, ns, _controller) = controlled_namespace("ctl-import-missing", false).await;
    let imports: Api<AccountImport> = Api::namespaced(client.clone(), &ns);
    let i = apply_until(
        &client,
        &imports,
        import(
            &ns,
            "my-account-import",
            (&ns, "export-account"),
            json!([stream("r", "shared.>")]),
        ),
        |i| has_condition(i, "BoundToAccount", "False", "NotFound"),
    )
    .await;
    has_condition(&i, "BoundToExportAccount", "False", "NotFound").unwrap();
    has_condition(&i, "ValidRules", "False", "NOK").unwrap();
    assert!(i.status.unwrap().desired_claim.is_none());
    apply(&client, &ns, account(&ns, "import-account", json!({}))).await;
    let i = wait_for(&imports, "my-account-import", |i| {
        has_condition(i, "BoundToAccount", "True", "OK")
    })
    .await;
    has_condition(&i, "BoundToExportAccount", "False", "NotFound").unwrap();
    apply(
        &client,
        &ns,
        account(
            &ns,
            "export-account",
            json!({"exports": [{"subject": "shared.>", "type": "stream"}]}),
        ),
    )
    .await;
    wait_for(&imports, "my-account-import", import_ready).await;
}
