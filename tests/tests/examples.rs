//! Each bundled example (`examples/NAME`) applied from its own files to the real API server
//! and nats-server under the real controller, and held to what its README promises.
//!
//! Run through `tests/testenv.sh run -- cargo test --workspace --test examples -- --include-ignored`.

use async_nats::jetstream::{self, consumer, stream};
use futures_util::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::Api;
use nauth_render::api::{Account, AccountImport, NatsCluster, User};
use nauth_tests::controller::{
    TIMEOUT, connects, creds, eventually, has_condition, may_publish, may_subscribe, ready,
    wait_for,
};
use nauth_tests::examples::Example;
use nauth_tests::{manifests, nats, tools};
use serde_json::json;

/// Waits until every Account and User named is Ready in the example's namespace `ns`.
async fn all_ready(example: &Example, ns: &str, accounts: &[&str], users: &[&str]) {
    let account_api: Api<Account> = example.api(ns);
    for name in accounts {
        wait_for(&account_api, name, ready).await;
    }
    let user_api: Api<User> = example.api(ns);
    for name in users {
        wait_for(&user_api, name, ready).await;
    }
}

/// The creds of the example's User `ns/name`.
async fn user_creds(example: &Example, ns: &str, name: &str) -> String {
    creds(&example.client, example.namespace(ns), name).await
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn simple_account_user_connects_and_may_do_what_its_permissions_say_and_nothing_else() {
    let example = Example::start("simple-account").await;
    all_ready(
        &example,
        "simple-account",
        &["example-account"],
        &["example-user"],
    )
    .await;
    let creds = user_creds(&example, "simple-account", "example-user").await;
    assert!(connects(&creds).await);
    assert!(may_publish(&creds, "foo.orders").await);
    assert!(may_publish(&creds, "bar.reports").await);
    assert!(!may_publish(&creds, "bar.internal.audit").await);
    assert!(!may_publish(&creds, "baz.orders").await);
    assert!(may_subscribe(&creds, "baz.orders").await);
    assert!(!may_subscribe(&creds, "baz.secret").await);
    assert!(!may_subscribe(&creds, "bar.reports").await);
    // The user's payload limit (1 KiB, below the account's 4 KiB) holds: the server refuses
    // a larger message.
    let (client, mut errors) = nats::connect(&creds, TIMEOUT).await;
    client
        .publish("foo.large", vec![b'x'; 2048].into())
        .await
        .unwrap();
    let _ = client.flush().await;
    let error = tokio::time::timeout(TIMEOUT, errors.recv())
        .await
        .expect("the server refuses a 2 KiB message")
        .unwrap();
    assert!(error.to_lowercase().contains("payload"), "{error}");
}

/// Waits until the Account `ns/name` is Ready with `count` entries in `status.claims.<list>`
/// (`imports`, `exports`): its JWT holds the rules bound to it, not only its first ones.
async fn ready_with(example: &Example, ns: &str, name: &str, list: &str, count: usize) {
    wait_for(&example.api::<Account>(ns), name, |a| {
        ready(a)?;
        let found = serde_json::to_value(a).unwrap()["status"]["claims"][list]
            .as_array()
            .map_or(0, Vec::len);
        (found == count)
            .then_some(())
            .ok_or(format!("{found} {list} in the claims, waiting for {count}"))
    })
    .await;
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn import_export_messages_cross_namespaces_through_the_exported_subjects_only() {
    let example = Example::start("import-export").await;
    ready_with(&example, "producers", "my-account", "exports", 2).await;
    wait_for(
        &example.api::<AccountImport>("consumers"),
        "my-account-import",
        // AccountImport says Ready=True/Ready, as NAuth's does.
        |i| has_condition(i, "Ready", "True", "Ready"),
    )
    .await;
    ready_with(&example, "consumers", "my-other-account", "imports", 2).await;
    all_ready(&example, "producers", &[], &["publisher"]).await;
    all_ready(&example, "consumers", &[], &["subscriber"]).await;
    let (publisher, _) = nats::connect(
        &user_creds(&example, "producers", "publisher").await,
        TIMEOUT,
    )
    .await;
    let (subscriber, _) = nats::connect(
        &user_creds(&example, "consumers", "subscriber").await,
        TIMEOUT,
    )
    .await;

    // Stream: the exported subject arrives in the other account, a subject not exported does not.
    let mut private = subscriber.subscribe("my-private.>").await.unwrap();
    let mut events = subscriber.subscribe("my-subject.>").await.unwrap();
    nats::subscribed(&subscriber, &["my-private.>", "my-subject.>"]).await;
    publisher
        .publish("my-private.created", "not exported".into())
        .await
        .unwrap();
    publisher
        .publish("my-subject.created", "order 1".into())
        .await
        .unwrap();
    let event = nats::next(&mut events, "the exported event arrives").await;
    assert_eq!(event.payload, "order 1");
    // Published before the event on the same connection, it would have arrived first.
    assert!(private.next().now_or_never().is_none());

    // Service: a request crosses and is answered; one on a subject not exported has no responder.
    let mut lookups = publisher.subscribe("my-service.*").await.unwrap();
    let mut private_lookups = publisher.subscribe("my-private-service.*").await.unwrap();
    nats::subscribed(&publisher, &["my-service.*", "my-private-service.*"]).await;
    let answering = publisher.clone();
    tokio::spawn(async move {
        while let Some(request) = futures_util::select_biased! {
            r = lookups.next().fuse() => r,
            r = private_lookups.next().fuse() => r,
        } {
            let reply = request.reply.unwrap();
            answering
                .publish(reply, request.subject.as_str().to_string().into())
                .await
                .unwrap();
        }
    });
    let answer = subscriber
        .request("my-service.ping", "".into())
        .await
        .expect("the exported service answers");
    assert_eq!(answer.payload, "my-service.ping");
    let refused = subscriber
        .request("my-private-service.ping", "".into())
        .await
        .unwrap_err();
    assert_eq!(
        refused.kind(),
        async_nats::client::RequestErrorKind::NoResponders
    );
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn jetstream_cross_account_a_stream_of_one_account_is_read_and_acknowledged_from_another() {
    let example = Example::start("jetstream-cross-account").await;
    all_ready(&example, "export-account", &["export-account"], &["myuser"]).await;
    all_ready(&example, "import-account", &["import-account"], &["myuser"]).await;

    // export-account's own user creates the stream and the consumer the exports name.
    let (owner, _) = nats::connect(
        &user_creds(&example, "export-account", "myuser").await,
        TIMEOUT,
    )
    .await;
    let js = jetstream::new(owner);
    let stream_a = js
        .create_stream(stream::Config {
            name: "stream-a".into(),
            subjects: vec!["test.>".into()],
            storage: stream::StorageType::Memory,
            max_bytes: 1 << 20,
            ..Default::default()
        })
        .await
        .expect("JetStream of export-account creates stream-a");
    stream_a
        .create_consumer(consumer::pull::Config {
            durable_name: Some("import-account".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .unwrap();
    js.publish("test.hello", "hello".into())
        .await
        .unwrap()
        .await
        .unwrap();

    // import-account fetches through its import and acknowledges through the other one.
    let (client, _) = nats::connect(
        &user_creds(&example, "import-account", "myuser").await,
        TIMEOUT,
    )
    .await;
    // A fetch is answered by messages that keep their stream subject, so it is sent with a
    // reply inbox of its own rather than as a request (whose replies are matched by subject).
    let inbox = client.new_inbox();
    let mut replies = client.subscribe(inbox.clone()).await.unwrap();
    client
        .publish_with_reply(
            "JS.export-account.API.CONSUMER.MSG.NEXT.stream-a.import-account",
            inbox,
            json!({"batch": 1}).to_string().into(),
        )
        .await
        .unwrap();
    let message = nats::next(
        &mut replies,
        "the fetch crosses to export-account's JetStream",
    )
    .await;
    assert_eq!(message.subject.as_str(), "test.hello");
    assert_eq!(message.payload, "hello");
    let ack = message
        .reply
        .expect("a JetStream message carries its ack subject");
    assert!(ack.starts_with("$JS.ACK.stream-a.import-account."), "{ack}");
    client.publish(ack, "+ACK".into()).await.unwrap();
    client.flush().await.unwrap();
    eventually("the ack reaches export-account's consumer", async || {
        let info = stream_a.consumer_info("import-account").await.unwrap();
        info.ack_floor.stream_sequence == 1 && info.num_ack_pending == 0
    })
    .await;
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn cluster_reference_binds_an_account_to_a_cluster_in_another_namespace_and_pushes_it() {
    let example = Example::start("cluster-reference").await;
    let cluster = wait_for(
        &example.api::<NatsCluster>("nats-system"),
        "my-nats-cluster",
        ready,
    )
    .await;
    all_ready(&example, "team-a", &["example-account"], &["example-user"]).await;
    let account = example
        .api::<Account>("team-a")
        .get("example-account")
        .await
        .unwrap();
    assert_eq!(
        account.labels()["account.nauth.io/nats-cluster-id"],
        cluster.uid().unwrap()
    );
    // Pushed: the resolver holds the JWT the controller wrote into the account's ConfigMap.
    let written = example
        .api::<ConfigMap>("team-a")
        .get("example-account-nats-account-jwt")
        .await
        .unwrap();
    let id = &account.labels()["account.nauth.io/id"];
    assert_eq!(
        nats::lookup_account(id).await,
        written.data.unwrap()["account.jwt"]
    );
    let creds = user_creds(&example, "team-a", "example-user").await;
    assert!(may_publish(&creds, "team-a.hello").await);
    assert!(!may_publish(&creds, "team-b.hello").await);
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn observe_account_mirrors_an_account_made_elsewhere_leaves_its_jwt_and_issues_users() {
    // The account as another tool made it, before the example is applied: the example's
    // account keys, its own claims, signed by the test environment's operator and pushed.
    let dir = tools::repo().join("examples/observe-account");
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap();
    let observed = manifests::load_dir(&dir)
        .into_iter()
        .find(|m| m.kind() == "Account")
        .unwrap();
    let mut outside = observed.object.clone();
    let labels = outside["metadata"]["labels"].as_object_mut().unwrap();
    labels.remove("nauth.io/management-policy");
    outside["spec"]["natsLimits"] = json!({"subs": 42});
    outside["spec"]["exports"] = json!([{"subject": "payments.reports.>", "type": "stream"}]);
    let rendered = nats::render_with_operator(
        &[
            ("nats-cluster.yaml", read("nats-cluster.yaml")),
            ("account-keys.yaml", read("account-keys.yaml")),
            ("outside.json", outside.to_string()),
        ],
        read("seed-root").trim().as_bytes(),
    )
    .unwrap();
    let pushed = rendered.accounts[0].jwt.clone();
    let replies = nats::push_accounts(&rendered).await;
    assert_eq!(replies["legacy-payments"]["code"], 200, "{replies:?}");

    let example = Example::start("observe-account").await;
    let accounts = example.api::<Account>("payments");
    let mirror = wait_for(&accounts, "legacy-payments", ready).await;
    let claims = serde_json::to_value(&mirror.status).unwrap()["claims"].clone();
    assert_eq!(claims["natsLimits"]["subs"], 42, "{claims}");
    all_ready(&example, "payments", &[], &["reporter"]).await;
    let creds = user_creds(&example, "payments", "reporter").await;
    assert!(connects(&creds).await);
    assert!(may_publish(&creds, "payments.reports.daily").await);
    assert!(!may_publish(&creds, "payments.refunds.new").await);
    // Observing never re-signs: once the Account is Ready (a managed one is pushed before it
    // is), the resolver still holds the JWT pushed above, byte for byte.
    let id = &mirror.labels()["account.nauth.io/id"];
    assert_eq!(nats::lookup_account(id).await, pushed);
}
