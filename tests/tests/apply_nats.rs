//! The controller's NATS side (`nauth_apply::nats`) against real nats-servers: the test
//! environment's server, a two-server cluster and a server that is stopped mid-test, all with
//! the full resolver and the test environment's operator.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nauth_apply::nats::{
    ClusterConfig, Connection, Connections, NatsError, Outcome, SystemCreds, Timeouts,
};
use nauth_jwt::creds::format_user_creds;
use nauth_jwt::{Account, Claims, encode};
use nauth_tests::{nats_servers, testenv};
use nkeys::KeyPair;

/// Liveness guard only: every call must come back on its own well before this.
const GUARD: Duration = Duration::from_secs(60);

fn read(var: &str) -> String {
    std::fs::read_to_string(testenv::var(var)).unwrap()
}

fn system_creds() -> SystemCreds {
    SystemCreds::new(read("NATS_SYSTEM_CREDS")).unwrap()
}

/// A config for `url` whose connection shows up in CONNZ as `name`.
fn config(url: &str, name: &str) -> ClusterConfig {
    let mut config = ClusterConfig::new(url, system_creds());
    config.name = name.to_string();
    config
}

async fn connect(url: &str, name: &str) -> Connection {
    Connection::connect(config(url, name)).await.unwrap()
}

fn operator_signing_key() -> KeyPair {
    KeyPair::from_seed(read("NATS_OPERATOR_SIGNING_SEED").trim()).unwrap()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A fresh account with Go's default claims, signed by `signer`: (account id, JWT).
fn account_jwt(signer: &KeyPair) -> (String, String) {
    let account = KeyPair::new_account();
    let mut claims = Claims::new(account.public_key(), Account::new());
    claims.data.name = "apply-nats-test".into();
    let jwt = encode(&mut claims, signer, now()).unwrap();
    (account.public_key(), jwt)
}

async fn guarded<T>(what: &str, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, call)
        .await
        .unwrap_or_else(|_| panic!("{what} did not return"))
}

/// Waits until discovery sees `count` resolvers (routes between fresh servers take a moment).
async fn wait_for_resolvers(conn: &Connection, count: usize) {
    for _ in 0..200 {
        conn.invalidate_membership();
        if let Ok(m) = conn.membership().await
            && m.resolvers.len() == count
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the cluster never showed {count} resolvers");
}

fn accepted_messages(replies: &[nauth_apply::nats::ServerReply]) -> Vec<(String, String)> {
    replies
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Accepted { message } => (r.server.name.clone(), message.clone()),
            other => panic!("{}: {other:?}", r.server),
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_pushed_account_is_stored_and_looked_up_without_a_seed() {
    let conn = connect(&testenv::var("NATS_URL"), "apply-nats-push").await;
    let (account, jwt) = account_jwt(&operator_signing_key());

    let accepted = guarded("push", conn.push(&jwt)).await.unwrap();
    assert_eq!(
        accepted_messages(&accepted.replies),
        [("nauth-testenv".to_string(), "jwt updated".to_string())]
    );

    let found = guarded("lookup", conn.lookup(&account))
        .await
        .unwrap()
        .expect("the pushed account");
    assert_eq!(found.jwt, jwt);
    assert_eq!(found.claims.data.sub, account);
    assert_eq!((found.holders, found.answered), (1, 1));

    let listing = guarded("list", conn.list()).await.unwrap();
    assert!(listing.union().contains(account.as_str()));
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn an_unknown_account_is_not_found() {
    let conn = connect(&testenv::var("NATS_URL"), "apply-nats-unknown").await;
    let unknown = KeyPair::new_account().public_key();
    assert_eq!(guarded("lookup", conn.lookup(&unknown)).await, Ok(None));
    let err = guarded("lookup", conn.lookup("not-an-account")).await;
    assert!(matches!(err, Err(NatsError::Invalid(_))), "{err:?}");
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn an_untrusted_issuer_is_refused_before_sending() {
    let conn = connect(&testenv::var("NATS_URL"), "apply-nats-untrusted").await;
    let stranger = KeyPair::new_operator();
    let (account, jwt) = account_jwt(&stranger);

    let err = guarded("push", conn.push(&jwt)).await.unwrap_err();
    let NatsError::ChainInvalid { subject, reason } = &err else {
        panic!("expected ChainInvalid, got {err:?}");
    };
    assert_eq!(subject, &account);
    assert!(reason.contains(&stranger.public_key()), "{reason}");
    // The server would have stored it with a 200 (nats-facts §4.2): it was never sent.
    assert_eq!(guarded("lookup", conn.lookup(&account)).await, Ok(None));

    let (trusted_account, _) = account_jwt(&operator_signing_key());
    let err = guarded(
        "delete",
        conn.delete(&[trusted_account.as_str()], &stranger),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, NatsError::ChainInvalid { .. }), "{err:?}");
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_deleted_account_is_gone_and_the_system_account_stays() {
    let conn = connect(&testenv::var("NATS_URL"), "apply-nats-delete").await;
    let operator = operator_signing_key();
    let (account, jwt) = account_jwt(&operator);
    guarded("push", conn.push(&jwt)).await.unwrap();

    let deleted = guarded("delete", conn.delete(&[account.as_str()], &operator))
        .await
        .unwrap();
    assert_eq!(
        accepted_messages(&deleted.replies),
        [(
            "nauth-testenv".to_string(),
            "deleted 1 accounts".to_string()
        )]
    );
    assert_eq!(guarded("lookup", conn.lookup(&account)).await, Ok(None));
    let listing = guarded("list", conn.list()).await.unwrap();
    assert!(!listing.union().contains(account.as_str()));

    let system = conn.membership().await.unwrap().system_account.clone();
    let err = guarded("delete", conn.delete(&[system.as_str()], &operator))
        .await
        .unwrap_err();
    let NatsError::Rejected { replies, .. } = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(replies.len(), 1);
    assert!(
        err.to_string()
            .contains("not allowed to delete system account"),
        "{err}"
    );
}

/// The server's CONNZ (open and closed connections) entries named `name`.
async fn connections_named(name: &str) -> usize {
    let sys = async_nats::ConnectOptions::with_credentials(&read("NATS_SYSTEM_CREDS"))
        .unwrap()
        .connect(testenv::var("NATS_URL"))
        .await
        .unwrap();
    let reply = sys
        .request(
            "$SYS.REQ.SERVER.PING.CONNZ",
            r#"{"state":2,"limit":100000}"#.into(),
        )
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    let conns = body["data"]["connections"].as_array().unwrap();
    conns.iter().filter(|c| c["name"] == name).count()
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn one_connection_serves_every_call() {
    let name = format!("apply-nats-reuse-{}", KeyPair::new_user().public_key());
    let pool = Connections::new();
    let config = config(&testenv::var("NATS_URL"), &name);
    let operator = operator_signing_key();

    let first = pool.get("nats/local", &config).await.unwrap();
    for _ in 0..3 {
        let conn = pool.get("nats/local", &config).await.unwrap();
        assert!(Arc::ptr_eq(&first, &conn));
        let (account, jwt) = account_jwt(&operator);
        guarded("push", conn.push(&jwt)).await.unwrap();
        guarded("lookup", conn.lookup(&account))
            .await
            .unwrap()
            .unwrap();
        guarded("list", conn.list()).await.unwrap();
        guarded("delete", conn.delete(&[account.as_str()], &operator))
            .await
            .unwrap();
    }
    assert_eq!(connections_named(&name).await, 1);

    // Another config for the same cluster replaces the connection.
    let mut changed = config.clone();
    changed.timeouts = Timeouts {
        reply: Duration::from_secs(4),
        ..config.timeouts
    };
    let replaced = pool.get("nats/local", &changed).await.unwrap();
    assert!(!Arc::ptr_eq(&first, &replaced));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tests/testenv.sh"]
async fn a_two_server_cluster_answers_once_per_server() {
    let servers = nats_servers::start("apply-pair", 2);
    let conn = connect(&servers[0].url, "apply-nats-pair").await;
    wait_for_resolvers(&conn, 2).await;
    let operator = operator_signing_key();
    let (account, jwt) = account_jwt(&operator);

    let accepted = guarded("push", conn.push(&jwt)).await.unwrap();
    let names: Vec<String> = accepted_messages(&accepted.replies)
        .into_iter()
        .map(|(name, message)| {
            assert_eq!(message, "jwt updated");
            name
        })
        .collect();
    assert_eq!(names, ["apply-pair-0", "apply-pair-1"]);

    let found = guarded("lookup", conn.lookup(&account))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.holders, found.answered), (2, 2));
    assert_eq!(found.jwt, jwt);

    let listing = guarded("list", conn.list()).await.unwrap();
    assert_eq!(listing.servers.len(), 2);
    for (_, ids) in listing.servers.values() {
        assert!(ids.contains(&account));
    }

    let deleted = guarded("delete", conn.delete(&[account.as_str()], &operator))
        .await
        .unwrap();
    assert_eq!(deleted.replies.len(), 2);
    assert_eq!(guarded("lookup", conn.lookup(&account)).await, Ok(None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tests/testenv.sh"]
async fn a_silent_server_fails_the_push_and_is_named() {
    let mut servers = nats_servers::start("apply-gap", 2);
    let mut config = config(&servers[0].url, "apply-nats-gap");
    config.timeouts.reply = Duration::from_secs(1);
    let conn = Connection::connect(config).await.unwrap();
    wait_for_resolvers(&conn, 2).await;
    let operator = operator_signing_key();

    servers[1].kill();
    let (account, jwt) = account_jwt(&operator);
    let err = guarded("push", conn.push(&jwt)).await.unwrap_err();
    let NatsError::Timeout {
        expected,
        answered,
        missing,
        ..
    } = &err
    else {
        panic!("expected Timeout, got {err:?}");
    };
    assert_eq!((*expected, *answered), (2, 1));
    assert_eq!(missing, &["apply-gap-1"]);
    assert!(
        err.to_string().contains("no reply from apply-gap-1"),
        "{err}"
    );

    // The failure makes the next request rediscover the cluster, which now has one server.
    let accepted = guarded("push", conn.push(&jwt)).await.unwrap();
    assert_eq!(
        accepted_messages(&accepted.replies),
        [("apply-gap-0".to_string(), "jwt updated".to_string())]
    );
    let found = guarded("lookup", conn.lookup(&account)).await;
    assert_eq!(found.map(|f| f.map(|f| f.jwt)), Ok(Some(jwt)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tests/testenv.sh"]
async fn a_stopped_server_gives_a_typed_error() {
    let mut servers = nats_servers::start("apply-stop", 1);
    let url = servers[0].url.clone();
    let conn = connect(&url, "apply-nats-stop").await;
    let operator = operator_signing_key();
    guarded("push", conn.push(&account_jwt(&operator).1))
        .await
        .unwrap();

    servers[0].kill();
    for _ in 0..200 {
        if !conn.is_connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!conn.is_connected(), "the client never noticed the stop");

    let (account, jwt) = account_jwt(&operator);
    for err in [
        guarded("push", conn.push(&jwt)).await.unwrap_err(),
        guarded("lookup", conn.lookup(&account)).await.unwrap_err(),
        guarded("list", conn.list()).await.unwrap_err(),
        guarded("delete", conn.delete(&[account.as_str()], &operator))
            .await
            .unwrap_err(),
        guarded(
            "connect",
            Connection::connect(config(&url, "apply-nats-stop-2")),
        )
        .await
        .err()
        .unwrap(),
    ] {
        assert!(matches!(err, NatsError::Unreachable { .. }), "{err:?}");
        assert!(err.to_string().contains(&url), "{err}");
    }
}

/// Words of `text` shaped like an nkey seed (`S[OAUNCXP][A-Z2-7]{50,}`).
fn seeds_in(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            let b = w.as_bytes();
            b.len() >= 52
                && b[0] == b'S'
                && b"OAUNCXP".contains(&b[1])
                && b[2..]
                    .iter()
                    .all(|c| matches!(c, b'A'..=b'Z' | b'2'..=b'7'))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tests/testenv.sh"]
async fn no_error_shows_a_seed() {
    let system_creds = read("NATS_SYSTEM_CREDS");
    let operator = operator_signing_key();
    let stranger = KeyPair::new_operator();
    let known_seeds = [
        operator.seed().unwrap(),
        stranger.seed().unwrap(),
        nauth_jwt::creds::parse_creds(&system_creds)
            .unwrap()
            .1
            .seed()
            .unwrap(),
    ];
    assert_eq!(seeds_in(&system_creds).len(), 1, "the detector finds seeds");

    let conn = connect(&testenv::var("NATS_URL"), "apply-nats-seeds").await;
    let system = conn.membership().await.unwrap().system_account.clone();
    let (account, _) = account_jwt(&operator);
    let mut errors = vec![
        SystemCreds::new(format_user_creds("a.b.c", &operator.seed().unwrap())).unwrap_err(),
        SystemCreds::new(format!("seed: {}", operator.seed().unwrap())).unwrap_err(),
        conn.push(&account_jwt(&stranger).1).await.unwrap_err(),
        conn.push(&operator.seed().unwrap()).await.unwrap_err(),
        conn.delete(&[account.as_str()], &stranger)
            .await
            .unwrap_err(),
        conn.delete(&[system.as_str()], &operator)
            .await
            .unwrap_err(),
        conn.lookup(&operator.seed().unwrap()).await.unwrap_err(),
    ];
    let mut stopped = nats_servers::start("apply-seeds", 1);
    let url = stopped[0].url.clone();
    stopped[0].kill();
    errors.push(
        Connection::connect(config(&url, "apply-nats-seeds-2"))
            .await
            .err()
            .unwrap(),
    );
    for err in &errors {
        for text in [err.to_string(), format!("{err:?}")] {
            assert_eq!(seeds_in(&text), Vec::<&str>::new(), "{text}");
            for seed in &known_seeds {
                assert!(!text.contains(seed.as_str()), "{text}");
            }
        }
    }
}
