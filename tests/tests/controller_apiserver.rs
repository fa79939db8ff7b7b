//! The API server restarted under a running controller: its watches come back, it goes on
//! reconciling, and nothing it wrote before changes. Alone in its test binary, because it stops
//! the API server every other test uses.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use kube::ResourceExt;
use kube::api::Api;
use nauth_render::api::{Account, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    Controller, SETTLE, account, apply, creds, may_publish, ready, setup, user, wait_for,
};
use nauth_tests::testenv;
use serde_json::json;

/// Stops testenv's kube-apiserver (SIGTERM, then SIGKILL) and starts it again with the same arguments, on the
/// same port and etcd; records the new process in testenv's `pids`, so testenv stops it.
#[expect(
    clippy::zombie_processes,
    reason = "testenv stops and reaps it by its PID"
)]
fn restart_api_server() {
    let dir = std::path::PathBuf::from(testenv::var("NAUTH_TESTENV_DIR"));
    let pids = std::fs::read_to_string(dir.join("pids")).unwrap();
    let line = (pids.lines().rev())
        .find(|l| l.starts_with("kube-apiserver "))
        .expect("kube-apiserver in testenv's pids");
    let pid: u32 = line.split(' ').nth(1).unwrap().parse().unwrap();
    let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let argv: Vec<String> = (argv.split(|b| *b == 0).filter(|a| !a.is_empty()))
        .map(|a| String::from_utf8(a.to_vec()).unwrap())
        .collect();
    // Gone, or a zombie its parent (testenv's shell) has not reaped yet.
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
    };
    // Asked to stop; killed when its graceful shutdown hangs (seen: still terminating its
    // watchers a minute after SIGTERM on a loaded machine). Either way the controller loses
    // the API server and its watches.
    for (signal, wait) in [("-TERM", Duration::from_secs(20)), ("-KILL", SETTLE)] {
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success() || !running());
        let deadline = std::time::Instant::now() + wait;
        while running() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if !running() {
            break;
        }
    }
    assert!(!running(), "kube-apiserver does not stop, even killed");
    let log = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("kube-apiserver.log"))
        .unwrap();
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut pids = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("pids"))
        .unwrap();
    writeln!(pids, "kube-apiserver {} {}", child.id(), argv[0]).unwrap();
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn the_controller_rides_out_an_api_server_restart() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-apiserver").await;
    setup(&client, &ns).await;
    let controller = Controller::start(&ns, &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    apply(&client, &ns, account(&ns, "a", json!({}))).await;
    apply(&client, &ns, user(&ns, "u", json!({"accountName": "a"}))).await;
    let id = wait_for(&accounts, "a", ready).await.labels()["account.nauth.io/id"].clone();
    wait_for(&users, "u", ready).await;
    let before = creds(&client, &ns, "u").await;

    restart_api_server();
    // A new client: the old one's connections went with the server.
    let deadline = tokio::time::Instant::now() + SETTLE;
    let client = loop {
        let fresh = nauth_tests::cluster::client().await;
        if fresh.apiserver_version().await.is_ok() {
            break fresh;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "kube-apiserver not back"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let users: Api<User> = Api::namespaced(client.clone(), &ns);

    // The controller still watches: a new User after the restart gets creds that work.
    let spec = json!({"accountName": "a", "permissions": {"pub": {"allow": ["v.>"]}}});
    apply(&client, &ns, user(&ns, "v", spec)).await;
    // kube's watches retry a lost API server with a backoff of up to 30 s, then list again:
    // the first reconcile after the restart may come that much later than SETTLE allows.
    let back = tokio::time::timeout(2 * SETTLE, async {
        while !matches!(users.get_opt("v").await, Ok(Some(v)) if ready(&v).is_ok()) {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    if back.await.is_err() {
        panic!(
            "v not Ready {:?} after the restart; controller log:\n{}",
            2 * SETTLE,
            controller.logs()
        );
    }
    assert!(may_publish(&creds(&client, &ns, "v").await, "v.x").await);
    let a = wait_for(&accounts, "a", ready).await;
    assert_eq!(a.labels()["account.nauth.io/id"], id);
    assert_eq!(creds(&client, &ns, "u").await, before, "u was issued again");
}
