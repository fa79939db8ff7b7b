//! Drift repair against a real nats-server: the controller compares every resolver's copy of an
//! Account's JWT with the rendered one at each resync, and pushes again only when a resolver
//! lacks it (here: a wiped resolver directory) or holds an older one. A resolver directory wiped
//! under a running server, which then acknowledges pushes without storing them, is reported.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use nauth_apply::nats::{ClusterConfig, Connection, SystemCreds};
use nauth_render::api::{Account, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    CLUSTER, Controller, account, apply, condition, creds, eventually, nats_cluster, ready, setup,
    user, wait_for, wait_not_ready,
};
use nauth_tests::{nats_servers, testenv};
use serde_json::json;

/// (reason, note) of the events on the object `name`.
async fn events_of(events: &Api<Event>, name: &str) -> Vec<(String, String)> {
    let all = events.list(&ListParams::default()).await.unwrap().items;
    all.into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

/// A namespace whose NatsCluster is a nats-server of its own (`<prefix>-0`), a controller
/// resyncing every second, and Account `a` Ready.
struct Scene {
    client: kube::Client,
    ns: String,
    servers: Vec<nats_servers::Server>,
    url: String,
    controller: Controller,
    accounts: Api<Account>,
    events: Api<Event>,
}

async fn scene(prefix: &str) -> Scene {
    let client = client().await;
    let ns = fresh_namespace(&client, &format!("ctl-{prefix}")).await;
    setup(&client, &ns).await;
    let servers = nats_servers::start(prefix, 1);
    let url = servers[0].url.clone();
    apply(&client, &ns, nats_cluster(&ns, CLUSTER, &url)).await;
    let controller = Controller::start(&ns, &[("NAUTH_RESYNC_INTERVAL", "1")]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    apply(&client, &ns, account(&ns, "a", json!({}))).await;
    wait_for(&accounts, "a", ready).await;
    Scene {
        client,
        ns,
        servers,
        url,
        controller,
        accounts,
        events,
    }
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_wiped_resolver_gets_the_account_back_and_a_current_one_is_left_alone() {
    let Scene {
        client,
        ns,
        mut servers,
        url,
        controller,
        accounts,
        events,
    } = scene("drift").await;
    apply(&client, &ns, user(&ns, "u", json!({"accountName": "a"}))).await;
    let a = wait_for(&accounts, "a", ready).await;
    wait_for(&Api::<User>::namespaced(client.clone(), &ns), "u", ready).await;
    let id = a.labels()["account.nauth.io/id"].clone();
    let system = std::fs::read_to_string(testenv::var("NATS_SYSTEM_CREDS")).unwrap();
    let lookup = Connection::connect(ClusterConfig::new(
        url.clone(),
        SystemCreds::new(system).unwrap(),
    ))
    .await
    .unwrap();
    let pushed = lookup.lookup(&id).await.unwrap().expect("pushed").jwt;
    let user_creds = creds(&client, &ns, "u").await;

    // Without drift, resyncs look and push nothing, and write nothing either: a status that
    // only re-confirms keeps its timestamp, so watchers are not woken (the Account and its
    // NatsCluster watch each other and would reconcile each other for ever).
    let checked = format!("every resolver holds the rendered JWT id={id}");
    let count = || controller.logs().matches(&checked).count();
    eventually(
        "a drift check that found the resolver current",
        async || count() >= 1,
    )
    .await;
    let version = accounts.get("a").await.unwrap().resource_version();
    let seen = count();
    eventually("two more drift checks", async || count() >= seen + 2).await;
    assert_eq!(
        accounts.get("a").await.unwrap().resource_version(),
        version,
        "resyncs that changed nothing rewrote the Account"
    );
    assert!(!controller.logs().contains("drift repaired"));
    assert!(
        !events_of(&events, "a")
            .await
            .iter()
            .any(|(r, _)| r == "DriftRepaired")
    );

    // A resolver that lost its files gets the same JWT back at the next resync.
    servers[0].restart_wiped();
    eventually(
        "the account is back in the wiped resolver",
        async || matches!(lookup.lookup(&id).await, Ok(Some(found)) if found.jwt == pushed),
    )
    .await;
    eventually("a DriftRepaired event", async || {
        events_of(&events, "a")
            .await
            .iter()
            .any(|(r, _)| r == "DriftRepaired")
    })
    .await;
    let logs = controller.logs();
    assert!(logs.contains("drift repaired"), "{logs}");
    // The first reconciles add finalizers without a refused (422) patch.
    assert!(!logs.contains("finalizer"), "{logs}");
    assert!(logs.contains("1 resolver(s) lacked it (drift-0)"), "{logs}");
    wait_for(&accounts, "a", ready).await;
    assert_eq!(
        creds(&client, &ns, "u").await,
        user_creds,
        "creds unchanged"
    );
    let user = async_nats::ConnectOptions::with_credentials(&user_creds)
        .unwrap()
        .connect(&url)
        .await
        .expect("the user's creds connect again");
    user.flush().await.unwrap();
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_resolver_wiped_under_a_running_server_is_reported_until_it_restarts() {
    let Scene {
        mut servers,
        controller,
        accounts,
        events,
        ..
    } = scene("live").await;

    servers[0].wipe_resolver();
    let (_, message) = wait_not_ready(&accounts, "a", "ResolverNotStoring").await;
    assert!(
        message.contains("still do not hold it") && message.contains("restart those servers"),
        "{message}"
    );
    assert!(
        !(events_of(&events, "a").await.iter()).any(|(r, _)| r == "DriftRepaired"),
        "a push the server did not store is no repair"
    );

    servers[0].restart();
    wait_for(&accounts, "a", ready).await;
    eventually("a DriftRepaired event", async || {
        (events_of(&events, "a").await.iter()).any(|(r, _)| r == "DriftRepaired")
    })
    .await;
    assert!(controller.logs().contains("drift repaired"));
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_changed_cluster_secret_re_triggers_the_accounts_bound_to_it() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-cluster-secret").await;
    setup(&client, &ns).await;
    // The default resync (5 min) is far beyond the wait: only the Secret's watch can act.
    let _controller = Controller::start(&ns, &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    apply(&client, &ns, account(&ns, "a", json!({}))).await;
    wait_for(&accounts, "a", ready).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let good = secrets.get("system-creds").await.unwrap();
    let set = |text: String| {
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "system-creds", "namespace": ns},
               "stringData": {"default": text}})
    };
    apply(&client, &ns, set("not a creds file".into())).await;
    let (_, message) = wait_not_ready(&accounts, "a", "Errored").await;
    assert!(
        message.contains("spec.systemAccountUserCredsSecretRef")
            && message.contains(&format!("Secret {ns}/system-creds")),
        "{message}"
    );
    // Another problem: the condition and a new event say the new message (an event series
    // used to keep its first note), naming the seed kind found and the one expected.
    let good = String::from_utf8(good.data.unwrap()["default"].0.clone()).unwrap();
    let account_seed = nkeys::KeyPair::new_account().seed().unwrap();
    let wrong_kind = nauth_jwt::creds::format_user_creds("a.b.c", &account_seed);
    apply(&client, &ns, set(wrong_kind)).await;
    let expected = "holds an account seed, expected a user seed";
    let wrong = wait_for(&accounts, "a", |a| match condition(a, "Ready") {
        Some((_, _, m)) if m.contains(expected) => Ok(()),
        other => Err(format!("Ready is {other:?}")),
    })
    .await;
    assert!(
        !serde_json::to_string(&wrong)
            .unwrap()
            .contains(&account_seed)
    );
    eventually("a Warning event with the new message", async || {
        events_of(&events, "a")
            .await
            .iter()
            .any(|(_, note)| note.contains(expected))
    })
    .await;
    apply(&client, &ns, set(good)).await;
    wait_for(&accounts, "a", ready).await;
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn deleting_an_account_while_nats_is_down_backs_off_and_says_why() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-delete-down").await;
    setup(&client, &ns).await;
    let mut servers = nats_servers::start("delete-down", 1);
    apply(&client, &ns, nats_cluster(&ns, CLUSTER, &servers[0].url)).await;
    let mut controller = Controller::start(&ns, &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    apply(&client, &ns, account(&ns, "a", json!({}))).await;
    wait_for(&accounts, "a", ready).await;
    servers[0].kill();
    accounts.delete("a", &Default::default()).await.unwrap();
    let failing = wait_for(&accounts, "a", |a| match condition(a, "Ready") {
        Some((s, _, m)) if s == "False" && m.starts_with("Deleting account: ") => Ok(()),
        other => Err(format!("Ready is {other:?}")),
    })
    .await;
    let (_, _, message) = condition(&failing, "Ready").unwrap();
    assert!(message.contains("unreachable"), "{message}");
    // The retries back off: the third failure in a row waits 20 s.
    eventually("a retry after 20 s", async || {
        controller
            .logs()
            .lines()
            .any(|l| l.contains("object=a ") && l.contains("retry_in=20s"))
    })
    .await;

    // SIGTERM stops the controller promptly and cleanly, even with a retry pending.
    let exit = controller.terminate();
    assert!(exit.success(), "{exit:?}");
    assert!(controller.logs().contains("nauth-apply stopped"));
}
