//! A bad object gets `Ready=False` with a reason, a message naming the field and the rule, and a
//! Warning event, and never blocks another; a Secret not marked `nauth.io/managed` is never
//! overwritten. Plus NAuth's account-import-service-local-subject scenario.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use nauth_render::api::{Account, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    Controller, account, apply, condition, has_condition, ready, resource, setup, user, wait_for,
};
use serde_json::json;

fn errored(o: &impl serde::Serialize) -> Result<(), String> {
    has_condition(o, "Ready", "False", "Errored")
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_bad_object_is_not_ready_with_its_field_and_rule_and_blocks_no_other() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-errors").await;
    setup(&client, &ns).await;
    let bad_export = json!({"exports": [{"name": "x", "subject": "has space", "type": "stream"}]});
    apply(&client, &ns, account(&ns, "bad", bad_export)).await;
    apply(&client, &ns, account(&ns, "good", json!({}))).await;
    apply(
        &client,
        &ns,
        user(&ns, "orphan", json!({"accountName": "missing"})),
    )
    .await;
    apply(
        &client,
        &ns,
        user(&ns, "fine", json!({"accountName": "good"})),
    )
    .await;
    // A creds Secret somebody else wrote: never overwritten.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let theirs: Secret = serde_json::from_value(json!({
        "metadata": {"name": "taken-nats-user-creds"}, "stringData": {"user.creds": "theirs"}}))
    .unwrap();
    secrets
        .create(&PostParams::default(), &theirs)
        .await
        .unwrap();
    apply(
        &client,
        &ns,
        user(&ns, "taken", json!({"accountName": "good"})),
    )
    .await;
    let controller = Controller::start(&ns, &[]).await;

    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    wait_for(&accounts, "good", ready).await;
    wait_for(&users, "fine", ready).await;
    let bad = wait_for(&accounts, "bad", errored).await;
    let (_, _, message) = condition(&bad, "Ready").unwrap();
    assert!(message.contains("spec.exports"), "{message}");
    assert!(message.contains("cannot have spaces"), "{message}");
    let orphan = wait_for(&users, "orphan", errored).await;
    let (_, _, message) = condition(&orphan, "Ready").unwrap();
    assert!(message.contains("spec.accountName"), "{message}");
    let taken = wait_for(&users, "taken", errored).await;
    let (_, _, message) = condition(&taken, "Ready").unwrap();
    assert!(message.contains("not managed by nauth"), "{message}");
    let kept = secrets.get("taken-nats-user-creds").await.unwrap();
    assert_eq!(kept.data.unwrap()["user.creds"].0, b"theirs");

    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let warnings: BTreeMap<String, String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter_map(|e| {
            Some((
                e.regarding?.name?,
                format!("{}: {}", e.reason?, e.note.unwrap_or_default()),
            ))
        })
        .collect();
    assert_eq!(
        warnings.get("bad").map(|w| w.starts_with("Errored: ")),
        Some(true),
        "{warnings:?}"
    );
    assert_eq!(
        warnings.get("orphan").map(|w| w.starts_with("Errored: ")),
        Some(true),
        "{warnings:?}"
    );
    // (`fine` may have one from before `good` had an ID: NAuth's AccountNotReady.)
    assert!(!warnings.contains_key("good"), "{warnings:?}");

    // Fixing the bad Account makes it Ready.
    apply(
        &client,
        &ns,
        account(
            &ns,
            "bad",
            json!({"exports": [{"name": "x", "subject": "no.space", "type": "stream"}]}),
        ),
    )
    .await;
    wait_for(&accounts, "bad", ready).await;
    assert_eq!(
        nauth_tests::controller::seeds_in(&controller.logs()),
        Vec::<String>::new()
    );
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_import_service_local_subject_is_adopted_and_in_the_claims() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-local-subject").await;
    setup(&client, &ns).await;
    apply(
        &client,
        &ns,
        account(
            &ns,
            "export-account",
            json!({"exports": [{"subject": "svc.>", "type": "service"}]}),
        ),
    )
    .await;
    apply(&client, &ns, account(&ns, "import-account", json!({}))).await;
    apply(&client, &ns, resource("AccountImport", &ns, "my-account-import", json!({
        "accountName": "import-account",
        "exportAccountRef": {"name": "export-account", "namespace": &ns},
        "rules": [{"name": "local", "subject": "svc.request", "localSubject": "local.request", "type": "service"}],
    }))).await;
    let _controller = Controller::start(&ns, &[]).await;
    let imports: Api<nauth_render::api::AccountImport> = Api::namespaced(client.clone(), &ns);
    wait_for(&imports, "my-account-import", |i| {
        has_condition(i, "Ready", "True", "Ready")
    })
    .await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let a = wait_for(&accounts, "import-account", |a| {
        let claims = a
            .status
            .as_ref()
            .and_then(|s| s.claims.clone())
            .unwrap_or_default();
        match claims.imports.unwrap_or_default().first() {
            Some(i) if i.options.local_subject.as_deref() == Some("local.request") => Ok(()),
            other => Err(format!("imports {other:?}")),
        }
    })
    .await;
    ready(&a).unwrap();
}
