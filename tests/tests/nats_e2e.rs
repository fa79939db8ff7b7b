//! The quickstart, rendered and served by a real nats-server in operator mode with the full
//! resolver: pushed account JWTs are accepted, and the rendered creds connect with exactly the
//! permissions, imports and JetStream access the custom resources describe.

use std::path::Path;
use std::time::Duration;

use async_nats::ConnectOptions;
use futures_util::StreamExt;
use nauth_render::render::Rendered;
use nauth_tests::{nats, testenv};
use tokio::sync::mpsc;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Extra resources for the JetStream checks: a JetStream-enabled account and two probe users.
const JETSTREAM_PROBES: &str = "\
apiVersion: nauth.io/v1alpha1
kind: Account
metadata: {name: streams, namespace: shop}
spec: {natsClusterRef: {name: local-nats, namespace: nats}}
---
apiVersion: nauth.io/v1alpha1
kind: User
metadata: {name: js-probe, namespace: shop}
spec: {accountName: billing}
---
apiVersion: nauth.io/v1alpha1
kind: User
metadata: {name: js-user, namespace: shop}
spec: {accountName: streams}
";

/// The quickstart's resources (not its throwaway operator key) plus `extra`, with keys derived
/// from `seed_root` and signed by the test environment's operator.
fn render_quickstart(seed_root: &[u8], extra: &str) -> Rendered {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart");
    let mut files: Vec<(&str, String)> = [
        "nats-cluster.yaml",
        "accounts.yaml",
        "exports-imports.yaml",
        "users.yaml",
    ]
    .into_iter()
    .map(|file| (file, std::fs::read_to_string(dir.join(file)).unwrap()))
    .collect();
    files.push(("e2e.yaml", extra.to_string()));
    nats::render_with_operator(&files, seed_root).unwrap()
}

const SEED_ROOT: &[u8] = b"nats-e2e-test-seed-root-0123456789abcdef";

/// The creds of a quickstart User.
fn creds(rendered: &Rendered, user: &str) -> String {
    nats::creds(rendered, &format!("shop/{user}"))
}

async fn connect(creds: &str) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    nats::connect(creds, TIMEOUT).await
}

async fn next_error(errors: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(TIMEOUT, errors.recv())
        .await
        .expect("a server error")
        .unwrap()
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn rendered_accounts_and_creds_work_on_a_real_nats_server() {
    testenv::require();
    let rendered = render_quickstart(SEED_ROOT, JETSTREAM_PROBES);
    for (name, data) in nats::push_accounts(&rendered).await {
        assert_eq!(data["code"], 200, "{name}: {data}");
        assert_eq!(data["message"], "jwt updated", "{name}");
    }

    let (orders, mut orders_errors) = connect(&creds(&rendered, "orders-service")).await;
    let (invoicer, mut invoicer_errors) = connect(&creds(&rendered, "invoicer")).await;

    // Service import: billing's invoicer calls orders' lookup service.
    let mut lookups = orders.subscribe("orders.lookup.*").await.unwrap();
    let responder = tokio::spawn({
        let orders = orders.clone();
        async move {
            let request = lookups.next().await.unwrap();
            let reply = request.reply.unwrap();
            orders
                .publish(reply, format!("found {}", request.subject).into())
                .await
                .unwrap();
            orders.flush().await.unwrap();
        }
    });
    nats::subscribed(&orders, &["orders.lookup.*"]).await;
    let answer = invoicer
        .request("orders.lookup.42", "?".into())
        .await
        .unwrap();
    assert_eq!(answer.payload, "found orders.lookup.42");
    responder.await.unwrap();

    // Stream import with a local subject: orders' events arrive under billing.orders.>.
    let mut events = invoicer.subscribe("billing.orders.>").await.unwrap();
    nats::subscribed(&invoicer, &["billing.orders.>"]).await;
    orders
        .publish("orders.events.created", "order 7".into())
        .await
        .unwrap();
    let event = nats::next(&mut events, "the event arrives through the stream import").await;
    assert_eq!(event.subject.as_str(), "billing.orders.created");
    assert_eq!(event.payload, "order 7");

    // Denied publish (deny beats allow) and denied subscribe.
    invoicer
        .publish("orders.lookup.admin", "x".into())
        .await
        .unwrap();
    invoicer.flush().await.unwrap();
    assert_eq!(
        next_error(&mut invoicer_errors).await,
        "Permissions Violation for Publish to \"orders.lookup.admin\""
    );
    let _denied = orders.subscribe("billing.>").await.unwrap();
    orders.flush().await.unwrap();
    assert_eq!(
        next_error(&mut orders_errors).await,
        "Permissions Violation for Subscription to \"billing.>\""
    );

    // JetStream: disabled for billing (jetStreamEnabled: false), unlimited for streams.
    let (probe, _) = connect(&creds(&rendered, "js-probe")).await;
    let disabled = async_nats::jetstream::new(probe).query_account().await;
    assert!(
        disabled
            .as_ref()
            .is_err_and(|e| e.to_string().contains("not enabled")),
        "{disabled:?}"
    );
    let (user, _) = connect(&creds(&rendered, "js-user")).await;
    let js = async_nats::jetstream::new(user);
    js.query_account()
        .await
        .expect("JetStream is enabled for the streams account");
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "ORDERS".into(),
        subjects: vec!["store.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn users_of_an_account_that_was_never_pushed_cannot_connect() {
    testenv::require();
    // Another seed root gives other, never pushed, account keys.
    let unpushed = render_quickstart(b"another-root-that-nobody-pushed-0123456789", "");
    let result = ConnectOptions::with_credentials(&creds(&unpushed, "invoicer"))
        .unwrap()
        .max_reconnects(0)
        .connect(testenv::var("NATS_URL"))
        .await;
    let err = result.expect_err("an unknown account is refused");
    assert_eq!(
        err.kind(),
        async_nats::ConnectErrorKind::AuthorizationViolation,
        "{err}"
    );
}
