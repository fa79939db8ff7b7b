//! Faults production brings, against the real servers: a nats-server restarted while pushes are
//! in flight, the controller killed mid-reconcile and started again, one server of a cluster of
//! two down, and the API server restarted (`controller_apiserver.rs`). In each, everything converges, no account ID changes, no creds are lost or
//! issued again needlessly, and every resolver ends up with the JWT the ConfigMap records.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use nauth_apply::nats::{ClusterConfig, Connection, SystemCreds};
use nauth_render::api::{Account, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    CLUSTER, Controller, account, apply, connects_at, creds, eventually, nats_cluster, ready,
    setup, user, wait_for,
};
use nauth_tests::{nats_servers, testenv};
use serde_json::json;

const ACCOUNTS: usize = 12;
const USERS_PER_ACCOUNT: usize = 2;

/// A connection of the system user to the server at `url`, to look accounts up.
async fn system(url: &str) -> Connection {
    let creds = std::fs::read_to_string(testenv::var("NATS_SYSTEM_CREDS")).unwrap();
    let config = ClusterConfig::new(url.to_string(), SystemCreds::new(creds).unwrap());
    Connection::connect(config).await.unwrap()
}

/// Account IDs by Account name, as their labels say now.
async fn account_ids(accounts: &Api<Account>) -> BTreeMap<String, String> {
    let all = accounts.list(&ListParams::default()).await.unwrap();
    (all.into_iter())
        .filter_map(|a| Some((a.name_any(), a.labels().get("account.nauth.io/id")?.clone())))
        .collect()
}

/// Creds by Secret name, of every user creds Secret now.
async fn all_creds(secrets: &Api<Secret>) -> BTreeMap<String, Vec<u8>> {
    let by_type = ListParams::default().labels("nauth.io/secret-type=user-creds");
    let all = secrets.list(&by_type).await.unwrap();
    (all.into_iter())
        .filter_map(|s| Some((s.name_any(), s.data?.get("user.creds")?.0.clone())))
        .collect()
}

/// How many of `objects` are Ready.
fn ready_count<K: serde::Serialize>(objects: &[K]) -> usize {
    objects.iter().filter(|o| ready(*o).is_ok()).count()
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_nats_restart_during_pushes_and_a_killed_controller_converge_without_new_identities() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-faults").await;
    setup(&client, &ns).await;
    let mut servers = nats_servers::start("faults", 1);
    let url = servers[0].url.clone();
    apply(&client, &ns, nats_cluster(&ns, CLUSTER, &url)).await;
    let env = [("NAUTH_RESYNC_INTERVAL", "2")];
    let mut controller = Controller::start(&ns, &env).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for i in 0..ACCOUNTS {
        apply(&client, &ns, account(&ns, &format!("a{i}"), json!({}))).await;
        for j in 0..USERS_PER_ACCOUNT {
            let spec = json!({"accountName": format!("a{i}")});
            apply(&client, &ns, user(&ns, &format!("u{i}-{j}"), spec)).await;
        }
    }

    // NATS goes down once the first account is pushed, while the others are on their way.
    eventually("a first Ready account", async || {
        ready_count(&accounts.list(&Default::default()).await.unwrap().items) > 0
    })
    .await;
    servers[0].restart();
    // The controller is killed once some users have creds and others do not yet.
    eventually("a first user with creds", async || {
        !all_creds(&secrets).await.is_empty()
    })
    .await;
    controller.stop();
    let ids_before = account_ids(&accounts).await;
    let creds_before = all_creds(&secrets).await;
    assert!(
        creds_before.len() < ACCOUNTS * USERS_PER_ACCOUNT,
        "every user had creds before the kill: nothing was in flight"
    );
    let mut controller = Controller::start(&ns, &env).await;

    eventually("every Account and User Ready", async || {
        let a = accounts.list(&Default::default()).await.unwrap().items;
        let u = users.list(&Default::default()).await.unwrap().items;
        ready_count(&a) == ACCOUNTS && ready_count(&u) == ACCOUNTS * USERS_PER_ACCOUNT
    })
    .await;
    let ids = account_ids(&accounts).await;
    for (name, id) in &ids_before {
        assert_eq!(&ids[name], id, "Account {name} changed its ID");
    }
    let creds_after = all_creds(&secrets).await;
    for (name, before) in &creds_before {
        assert_eq!(&creds_after[name], before, "{name} was issued again");
    }
    // One root and one signing key per Account: no key was generated twice.
    for i in 0..ACCOUNTS {
        let keys = ListParams::default().labels(&format!("account.nauth.io/name=a{i}"));
        let held = secrets.list(&keys).await.unwrap().items;
        assert_eq!(held.len(), 2, "key Secrets of a{i}");
    }
    // Every resolver holds what each ConfigMap records, and every user connects.
    let lookup = system(&url).await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    for (name, id) in &ids {
        let cm = maps.get(&format!("{name}-nats-account-jwt")).await.unwrap();
        let recorded = &cm.data.unwrap()["account.jwt"];
        let held = lookup.lookup(id).await.unwrap().expect("in the resolver");
        assert_eq!(&held.jwt, recorded, "resolver copy of {name}");
    }
    for creds in creds_after.values() {
        assert!(connects_at(std::str::from_utf8(creds).unwrap(), &url).await);
    }

    // Restarted once more and given resyncs, the controller issues nothing again.
    controller.terminate();
    let controller = Controller::start(&ns, &env).await;
    let resynced = "every resolver holds the rendered JWT";
    eventually("resyncs of every Account", async || {
        controller.logs().matches(resynced).count() >= 2 * ACCOUNTS
    })
    .await;
    assert_eq!(all_creds(&secrets).await, creds_after);
    assert_eq!(account_ids(&accounts).await, ids);
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn an_account_created_while_one_of_two_servers_is_down_reaches_both() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-faults-pair").await;
    setup(&client, &ns).await;
    let mut servers = nats_servers::start("pair", 2);
    let (url, other) = (servers[0].url.clone(), servers[1].url.clone());
    apply(&client, &ns, nats_cluster(&ns, CLUSTER, &url)).await;
    let _controller = Controller::start(&ns, &[("NAUTH_RESYNC_INTERVAL", "2")]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    apply(&client, &ns, account(&ns, "a", json!({}))).await;
    wait_for(&accounts, "a", ready).await;

    servers[1].kill();
    apply(&client, &ns, account(&ns, "b", json!({}))).await;
    // Pushed to the server that is up (Ready or not, depending on whether the controller has
    // learnt yet that the other is gone); the other gets it once it is back.
    let b = wait_for(&accounts, "b", |b| {
        match b.labels().get("account.nauth.io/id") {
            Some(_) => Ok(()),
            None => Err("no account ID yet".into()),
        }
    })
    .await;
    let id = b.labels()["account.nauth.io/id"].clone();
    servers[1].restart();
    let lookup = system(&other).await;
    eventually("account b in the restarted server's resolver", async || {
        matches!(lookup.lookup(&id).await, Ok(Some(_)))
    })
    .await;
    wait_for(&accounts, "b", ready).await;
    wait_for(&accounts, "a", ready).await;
    let held = system(&url).await.lookup(&id).await.unwrap();
    assert!(held.is_some(), "{url} lacks account b");
    apply(&client, &ns, user(&ns, "u", json!({"accountName": "b"}))).await;
    wait_for(&Api::<User>::namespaced(client.clone(), &ns), "u", ready).await;
    let creds = creds(&client, &ns, "u").await;
    assert!(
        connects_at(&creds, &other).await,
        "creds of b connect at {other}"
    );
}
