//! A bad object gets `Ready=False` with a reason, a message naming the field and the rule, and a
//! Warning event, and never blocks another; a Secret not marked `nauth.io/managed` is never
//! overwritten. Key Secrets holding the wrong kind of seed and a NatsCluster nothing answers at
//! fail alone, and nothing is lost. Plus NAuth's account-import-service-local-subject scenario.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use nauth_render::api::{Account, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    Controller, account, apply, condition, connects, creds, has_condition, may_publish,
    nats_cluster, ready, resource, seeds_in, setup, user, wait_for, wait_gone,
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
    // No spec at all, which the CRDs allow (as NAuth's do): each reads as an empty spec and is
    // not Ready for what that lacks; neither stops the others.
    for kind in ["Account", "User"] {
        let bare = json!({"apiVersion": "nauth.io/v1alpha1", "kind": kind,
                          "metadata": {"name": "bare", "namespace": &ns}});
        apply(&client, &ns, bare).await;
    }
    let controller = Controller::start(&ns, &[]).await;

    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    wait_for(&accounts, "good", ready).await;
    wait_for(&users, "fine", ready).await;
    let bare = wait_for(&accounts, "bare", errored).await;
    let (_, _, message) = condition(&bare, "Ready").unwrap();
    assert!(message.contains("natsClusterRef"), "{message}");
    let bare = wait_for(&users, "bare", errored).await;
    let (_, _, message) = condition(&bare, "Ready").unwrap();
    assert_eq!(message, "spec.accountName: required");
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

    // A User whose spec is removed still leaves: the Account its status names revokes it.
    let creds_before = creds(&client, &ns, "fine").await;
    let spec_removed = json!({"apiVersion": "nauth.io/v1alpha1", "kind": "User",
                              "metadata": {"name": "fine", "namespace": &ns}});
    apply(&client, &ns, spec_removed).await;
    wait_for(&users, "fine", errored).await;
    users.delete("fine", &Default::default()).await.unwrap();
    wait_gone(&users, "fine").await;
    assert!(
        !connects(&creds_before).await,
        "the removed User's creds are revoked"
    );
    // An empty cluster name is named as such, not as a failed API request.
    apply(&client, &ns, json!({"apiVersion": "nauth.io/v1alpha1", "kind": "Account",
        "metadata": {"name": "unnamed", "namespace": &ns}, "spec": {"natsClusterRef": {"name": ""}}}))
    .await;
    let unnamed = wait_for(&accounts, "unnamed", errored).await;
    let (_, _, message) = condition(&unnamed, "Ready").unwrap();
    assert_eq!(message, "spec.natsClusterRef.name: required");
    assert_eq!(seeds_in(&controller.logs()), Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_key_secret_with_the_wrong_seed_and_an_unreachable_cluster_fail_alone_and_lose_nothing() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-errors-keys").await;
    setup(&client, &ns).await;
    // Account `wrong` already has its key Secrets (as NAuth names and labels them), but the
    // seed in the root one is a user's.
    let id = nkeys::KeyPair::new_account().public_key();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let seeds = [
        ("root", nkeys::KeyPair::new_user().seed().unwrap()),
        ("sign", nkeys::KeyPair::new_account().seed().unwrap()),
    ];
    for (kind, seed) in seeds {
        let labels = json!({
            "account.nauth.io/id": id, "account.nauth.io/name": "wrong",
            "nauth.io/secret-type": format!("account-{kind}"), "nauth.io/managed": "true"});
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": format!("wrong-ac-{kind}-1"), "labels": labels},
            "stringData": {"default": seed}}))
        .unwrap();
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }
    let before = secrets.get("wrong-ac-root-1").await.unwrap().data;
    let mut wrong = account(&ns, "wrong", json!({}));
    wrong["metadata"]["labels"] = json!({"account.nauth.io/id": id});
    apply(&client, &ns, wrong).await;
    // A NatsCluster nothing answers at, and an Account bound to it.
    apply(
        &client,
        &ns,
        nats_cluster(&ns, "nowhere", "nats://127.0.0.1:1"),
    )
    .await;
    let mut stranded = account(&ns, "stranded", json!({}));
    stranded["spec"]["natsClusterRef"] = json!({"name": "nowhere", "namespace": ns});
    apply(&client, &ns, stranded).await;
    apply(&client, &ns, account(&ns, "good", json!({}))).await;
    let spec = json!({"accountName": "good", "permissions": {"pub": {"allow": ["ok.>"]}}});
    apply(&client, &ns, user(&ns, "fine", spec)).await;
    let controller = Controller::start(&ns, &[]).await;

    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    wait_for(&accounts, "good", ready).await;
    wait_for(&Api::<User>::namespaced(client.clone(), &ns), "fine", ready).await;
    assert!(may_publish(&creds(&client, &ns, "fine").await, "ok.x").await);
    let not_ready = |o: &Account| match condition(o, "Ready") {
        Some((s, _, m)) if s == "False" && !m.is_empty() => Ok(()),
        other => Err(format!("Ready is {other:?}")),
    };
    let (_, _, message) =
        condition(&wait_for(&accounts, "wrong", not_ready).await, "Ready").unwrap();
    assert!(message.contains("wrong-ac-root-1"), "{message}");
    let (_, _, message) =
        condition(&wait_for(&accounts, "stranded", not_ready).await, "Ready").unwrap();
    assert!(message.contains("127.0.0.1:1"), "{message}");
    let clusters: Api<nauth_render::api::NatsCluster> = Api::namespaced(client.clone(), &ns);
    let nowhere = wait_for(&clusters, "nowhere", |c| {
        has_condition(c, "Ready", "False", "Errored")
    })
    .await;
    let (_, _, message) = condition(&nowhere, "Ready").unwrap();
    assert!(message.contains("127.0.0.1:1 is unreachable"), "{message}");
    // Nothing lost: the Secret with the wrong seed is as it was, no key was generated over it.
    assert_eq!(secrets.get("wrong-ac-root-1").await.unwrap().data, before);
    let keys = ListParams::default().labels("account.nauth.io/name=wrong");
    assert_eq!(secrets.list(&keys).await.unwrap().items.len(), 2);
    assert_eq!(seeds_in(&controller.logs()), Vec::<String>::new());
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
