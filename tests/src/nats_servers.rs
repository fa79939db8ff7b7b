//! Extra nats-servers a test starts and stops itself: a cluster of several routed servers, or
//! a server the test can kill. They trust the test environment's operator and preload its
//! system account, so the same system creds and operator signing key work against them.
//!
//! The servers run from `NATS_SERVER_BIN` (exported by `tests/testenv.sh`), keep their files
//! under `$NAUTH_TESTENV_DIR`, and are killed when their [`Server`] is dropped (also on panic);
//! if the test binary itself is killed, `testenv.sh` stops its whole process group.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::testenv;

/// A nats-server started by a test.
pub struct Server {
    child: Child,
    /// Its client URL.
    pub url: String,
    /// Its `server_name`.
    pub name: String,
    /// Its log file.
    pub log: PathBuf,
    conf: PathBuf,
    port: u16,
}

impl Server {
    /// Kills the server now (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Kills the server, empties its resolver directory (a lost volume) and starts it again on
    /// the same port: it comes back knowing only the preloaded system account.
    pub fn restart_wiped(&mut self) {
        self.kill();
        self.wipe_resolver();
        self.restart();
    }

    /// Empties the resolver directory under the running server (an operator's mistake).
    pub fn wipe_resolver(&self) {
        let resolver = self.conf.with_file_name("resolver");
        fs::remove_dir_all(&resolver).unwrap();
        fs::create_dir_all(&resolver).unwrap();
    }

    /// Kills the server and starts it again on the same port, with the same resolver directory.
    pub fn restart(&mut self) {
        self.kill();
        let name = self.name.clone();
        *self = spawn(&self.conf.clone(), &self.log.clone(), name, self.port);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `count` servers named `<prefix>-<i>`; with more than one they form a cluster with a
/// route from every server to every other. Returns once each accepts client connections;
/// whether routes are up is for the caller to wait for.
pub fn start(prefix: &str, count: usize) -> Vec<Server> {
    let env_dir = PathBuf::from(testenv::var("NAUTH_TESTENV_DIR"));
    let nats_dir = env_dir.join("nats");
    let read = |name: &str| fs::read_to_string(nats_dir.join(name)).unwrap();
    let system_account = read("system-account.pub").trim().to_string();
    let system_jwt = read("system-account.jwt").trim().to_string();
    let operator_jwt = testenv::var("NATS_OPERATOR_JWT");
    let ports: Vec<(u16, u16)> = free_ports(2 * count)
        .chunks(2)
        .map(|pair| (pair[0], pair[1]))
        .collect();
    let routes: Vec<String> = ports
        .iter()
        .map(|(_, route)| format!("nats-route://127.0.0.1:{route}"))
        .collect();
    ports
        .iter()
        .enumerate()
        .map(|(i, (client, route))| {
            let name = format!("{prefix}-{i}");
            let dir = env_dir.join("extra-nats").join(&name);
            fs::create_dir_all(dir.join("resolver")).unwrap();
            let cluster = if count > 1 {
                format!(
                    "cluster: {{ name: {prefix}, listen: \"127.0.0.1:{route}\", routes: [{}] }}\n",
                    routes.join(", ")
                )
            } else {
                String::new()
            };
            let config = format!(
                "server_name: {name}\nlisten: \"127.0.0.1:{client}\"\n\
                 operator: \"{operator_jwt}\"\nsystem_account: {system_account}\n\
                 resolver: {{ type: full, dir: \"{}\", allow_delete: true, interval: \"2m\", timeout: \"1.9s\" }}\n\
                 resolver_preload: {{ {system_account}: \"{system_jwt}\" }}\n{cluster}",
                dir.join("resolver").display()
            );
            let conf = dir.join("nats-server.conf");
            fs::write(&conf, config).unwrap();
            spawn(&conf, &dir.join("nats-server.log"), name, *client)
        })
        .collect()
}

fn spawn(conf: &Path, log: &Path, name: String, port: u16) -> Server {
    let child = Command::new(testenv::var("NATS_SERVER_BIN"))
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("nats://127.0.0.1:{port}"),
        name,
        log: log.to_path_buf(),
        conf: conf.to_path_buf(),
        port,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} did not listen on {port}; log:\n{}",
            server.name,
            fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// `n` distinct free loopback ports (all held until every one is picked).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}
