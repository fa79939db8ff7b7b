//! bench-vs-nauth: NAuth and nauth-apply measured side by side against the servers of
//! `tests/testenv.sh`, one controller after the other, each in a fresh namespace of its own.
//!
//! Per controller, three phases (see BENCHMARKS.md, "nauth-apply against NAuth"):
//! 1. `create`: N Accounts × M Users applied at once, until every one is `Ready=True` and every
//!    user's creds open a real NATS connection;
//! 2. `change-user`: one User's spec changed, until it is Ready with new creds that connect;
//! 3. `delete-account`: one Account's Users deleted, then the Account, until it is gone and the
//!    resolver no longer knows its JWT.
//!
//! A third entry, `floor`, is no controller: this binary itself, started again with
//! `--floor-writer NS`, makes the fewest and cheapest writes that end the `create` phase (a
//! placeholder creds Secret and a `Ready` status per User, a `Ready` status per Account) as soon
//! as it sees each object. Its `Ready` time is what this API server on this machine needs
//! whatever a controller does.
//!
//! At each phase end it samples the controller process: CPU seconds (utime + stime of
//! /proc/PID/stat), peak resident memory (VmHWM of /proc/PID/status), and counts the API server's
//! mutating requests (its /metrics) minus the driver's own. Not a test: it asserts nothing and
//! prints a Markdown table plus one JSON line per phase.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams};
use kube::{Client, ResourceExt};
use nauth_render::api::{Account, NatsCluster, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{CLUSTER, account, apply, condition, setup, user};
use nauth_tests::testenv;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Command line of the benchmark driver (`bench/vs-nauth.sh` fills it in).
#[derive(Parser)]
#[command(about = "Measure NAuth and nauth-apply against the servers of tests/testenv.sh")]
struct Args {
    /// The NAuth manager binary (built from its repository).
    #[arg(long)]
    nauth: Option<PathBuf>,
    /// The nauth-apply binary (release build).
    #[arg(long)]
    nauth_apply: Option<PathBuf>,
    /// Accounts to create.
    #[arg(long, default_value_t = 100)]
    accounts: usize,
    /// Users per Account.
    #[arg(long, default_value_t = 10)]
    users: usize,
    /// Longest wait of one phase, in seconds; a phase cut there is reported as such.
    #[arg(long, default_value_t = 1200)]
    cap: u64,
    /// NATS connections opened at once when checking creds.
    #[arg(long, default_value_t = 32)]
    connect_concurrency: usize,
    /// Which controllers to run, in this order.
    #[arg(long, value_delimiter = ',', default_value = "nauth,floor,nauth-apply")]
    controllers: Vec<Which>,
    /// Directory for the controllers' logs (kept).
    #[arg(long, default_value = "/tmp/nauth-bench-logs")]
    logs: PathBuf,
    /// Internal: run as the `floor` writer in this namespace (the driver starts it).
    #[arg(long, hide = true)]
    floor_writer: Option<String>,
}

/// The controllers under comparison.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
enum Which {
    Nauth,
    NauthApply,
    /// The least any controller must write (see the module comment); create phase only.
    Floor,
}

impl Which {
    /// The binary the options give for this controller; the floor is this binary itself.
    fn binary(self, args: &Args) -> Result<PathBuf, String> {
        let (given, flag) = match self {
            Which::Nauth => (&args.nauth, "--nauth"),
            Which::NauthApply => (&args.nauth_apply, "--nauth-apply"),
            Which::Floor => return std::env::current_exe().map_err(|e| e.to_string()),
        };
        match given {
            Some(path) if path.is_file() => Ok(path.clone()),
            Some(path) => Err(format!("{flag} {}: no such file", path.display())),
            None => Err(format!("{flag} BINARY is needed to run {}", self.name())),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Which::Nauth => "nauth",
            Which::NauthApply => "nauth-apply",
            Which::Floor => "floor",
        }
    }
}

/// How often the driver re-lists the objects it waits for.
const POLL: Duration = Duration::from_millis(500);
/// Parallel object applies in the `create` phase (what `kubectl apply` of a directory does
/// sequentially; Argo CD applies in waves, a few at once).
const APPLY_CONCURRENCY: usize = 16;

/// What one phase measured.
#[derive(serde::Serialize)]
struct Phase {
    controller: &'static str,
    phase: &'static str,
    /// The phase met its goal before the cap.
    converged: bool,
    /// Seconds from the phase's first write to Ready (every object the phase waits for).
    ready_s: f64,
    /// Seconds from the phase's first write to the end (Ready and the NATS check).
    wall_s: f64,
    /// What the phase waited for, and how far it got.
    detail: String,
    /// CPU seconds the controller spent in this phase.
    cpu_s: f64,
    /// Peak resident memory of the controller so far, MiB.
    peak_rss_mib: f64,
    /// Resident memory at the phase end, MiB.
    rss_mib: f64,
    /// Mutating API requests in the phase (server-side applies included) that were not the
    /// driver's.
    api_writes: i64,
    /// GET and LIST requests in the phase that were not the driver's (watches not counted).
    api_reads: i64,
    /// The controller's API requests by verb and resource.
    api_requests_by_kind: BTreeMap<String, i64>,
    /// /proc/loadavg at the phase end (1, 5, 15 min).
    load: String,
}

/// A controller process and what /proc says about it.
struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn start(which: Which, args: &Args, namespace: &str) -> Running {
        std::fs::create_dir_all(&args.logs).unwrap();
        let log = args.logs.join(format!("{}-{namespace}.log", which.name()));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = match which {
            Which::Nauth | Which::NauthApply => Command::new(which.binary(args).unwrap()),
            Which::Floor => {
                let mut c = Command::new(which.binary(args).unwrap());
                c.args(["--floor-writer", namespace]);
                c
            }
        };
        if which != Which::Floor {
            // NAuth's default development logger writes debug lines: `info`, as ours.
            command
                .args(["--namespace", namespace, "--health-probe-bind-address", "0"])
                .args(["--metrics-bind-address", "0", "--log-level", "info"]);
        }
        let binary = PathBuf::from(command.get_program());
        let child = command
            // Both run in NatsCluster mode, as NAuth ≥ 0.7 does: no NATS_URL.
            .env_remove("NATS_URL")
            .env_remove("RUST_LOG")
            // For profiling runs only: nauth-apply's log filter (e.g. `nauth_apply=debug`
            // logs every reconcile).
            .envs(std::env::var("BENCH_RUST_LOG").map(|f| ("RUST_LOG", f)))
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        Running { child, log }
    }

    fn proc_file(&self, name: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{name}", self.child.id())).unwrap_or_default()
    }

    /// utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat).
    fn cpu_ticks(&self) -> u64 {
        let stat = self.proc_file("stat");
        // The command name (field 2) may hold spaces; the rest follows its closing parenthesis.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        field(14).unwrap_or(0) + field(15).unwrap_or(0)
    }

    /// A `Vm…` line of /proc/PID/status in MiB.
    fn memory_mib(&self, key: &str) -> f64 {
        let status = self.proc_file("status");
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok());
        kib.unwrap_or(0.0) / 1024.0
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Counts the driver's own API requests, by the keys of [`api_requests`], so the controller's
/// share of the API server's count is the difference.
#[derive(Default)]
struct DriverRequests(Mutex<BTreeMap<String, i64>>);

impl DriverRequests {
    /// `n` requests `VERB resource` (server-side applies count as `APPLY`, reads as `GET` or
    /// `LIST`).
    fn add(&self, key: &str, n: usize) {
        let mut all = self.0.lock().unwrap();
        *all.entry(key.to_string()).or_insert(0) += n as i64;
    }
    fn take(&self) -> BTreeMap<String, i64> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// The API server's requests for resources so far, writes and reads (not watches), by
/// `VERB resource[/subresource]` (`apiserver_request_total` of its /metrics).
async fn api_requests(client: &Client) -> BTreeMap<String, i64> {
    let request = http::Request::get("/metrics").body(Vec::new()).unwrap();
    let text = client.request_text(request).await.unwrap_or_default();
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|l| l.strip_prefix(name)?.strip_prefix("=\""))
                .map(|v| v.trim_end_matches('"').to_string())
                .unwrap_or_default()
        };
        let verb = label("verb");
        if !(is_write(&verb) || matches!(verb.as_str(), "GET" | "LIST")) {
            continue;
        }
        let resource = label("resource");
        // The API server's own heartbeat (its identity Lease); neither controller elects here.
        if resource.is_empty() || resource == "leases" {
            continue;
        }
        let sub = label("subresource");
        let key = match sub.as_str() {
            "" => format!("{verb} {resource}"),
            sub => format!("{verb} {resource}/{sub}"),
        };
        *counts.entry(key).or_insert(0) += value.trim().parse::<f64>().unwrap_or(0.0) as i64;
    }
    counts
}

/// Whether `verb` (as the API server's metrics name it) changes something.
fn is_write(verb: &str) -> bool {
    matches!(verb, "POST" | "PUT" | "PATCH" | "APPLY" | "DELETE")
}

/// A ticking clock for the phases, the samples at each phase end, and the table they make.
struct Meter<'a> {
    client: &'a Client,
    controller: &'a Running,
    which: Which,
    driver: Arc<DriverRequests>,
    clk_tck: f64,
    cpu_ticks: u64,
    requests: BTreeMap<String, i64>,
}

impl Meter<'_> {
    /// Starts a phase: the samples it is measured against.
    async fn begin(&mut self) {
        self.cpu_ticks = self.controller.cpu_ticks();
        self.requests = api_requests(self.client).await;
        self.driver.take();
    }

    /// Ends a phase and samples the controller.
    async fn end(
        &mut self,
        phase: &'static str,
        start: Instant,
        ready: Option<Instant>,
        converged: bool,
        detail: String,
    ) -> Phase {
        let wall_s = start.elapsed().as_secs_f64();
        let cpu = self.controller.cpu_ticks();
        let requests = api_requests(self.client).await;
        let driver = self.driver.take();
        let mut by_kind = BTreeMap::new();
        for (key, n) in &requests {
            let before = self.requests.get(key).copied().unwrap_or(0);
            let delta = n - before - driver.get(key).copied().unwrap_or(0);
            if delta != 0 {
                by_kind.insert(key.clone(), delta);
            }
        }
        let count = |writes: bool| {
            let verb = |k: &String| k.split(' ').next().unwrap_or_default().to_string();
            (by_kind.iter())
                .filter(|(k, _)| is_write(&verb(k)) == writes)
                .map(|(_, n)| n)
                .sum::<i64>()
        };
        let (api_writes, api_reads) = (count(true), count(false));
        let result = Phase {
            controller: self.which.name(),
            phase,
            converged,
            ready_s: ready.map_or(wall_s, |r| (r - start).as_secs_f64()),
            wall_s,
            detail,
            cpu_s: cpu.saturating_sub(self.cpu_ticks) as f64 / self.clk_tck,
            peak_rss_mib: self.controller.memory_mib("VmHWM"),
            rss_mib: self.controller.memory_mib("VmRSS"),
            api_writes,
            api_reads,
            api_requests_by_kind: by_kind,
            load: std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        };
        println!("{}", serde_json::to_string(&result).unwrap());
        result
    }
}

fn account_name(a: usize) -> String {
    format!("acc-{a:03}")
}

fn user_name(a: usize, u: usize) -> String {
    format!("acc-{a:03}-u{u:02}")
}

/// The spec of every User; `generation` 2 adds a publish permission (the `change-user` phase).
fn user_spec(a: usize, generation: u32) -> Value {
    let mut publish = vec![format!("app.{a}.>")];
    if generation > 1 {
        publish.push("changed.>".into());
    }
    json!({
        "accountName": account_name(a),
        "permissions": {"pub": {"allow": publish}, "sub": {"allow": [format!("app.{a}.>"), "_INBOX.>"]}},
    })
}

/// The result of a polling read; an error (the API server times out when a controller floods
/// it) is reported and the poll goes on.
fn polled<T>(result: kube::Result<T>) -> Option<T> {
    result
        .inspect_err(|e| eprintln!("polling read failed, retrying: {e}"))
        .ok()
}

/// Whether an object's `Ready` condition is `True`.
fn is_ready(o: &impl serde::Serialize) -> bool {
    condition(o, "Ready").is_some_and(|(status, _, _)| status == "True")
}

/// Applies `objects` with [`APPLY_CONCURRENCY`] requests at once.
async fn apply_all(client: &Client, ns: &str, objects: Vec<Value>, driver: &DriverRequests) {
    let limit = Arc::new(Semaphore::new(APPLY_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for object in objects {
        let kind = object["kind"].as_str().unwrap().to_lowercase();
        driver.add(&format!("APPLY {kind}s"), 1);
        let (client, ns, limit) = (client.clone(), ns.to_string(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            apply(&client, &ns, object).await;
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

/// Opens one NATS connection with `creds` and completes a round trip; the error as text.
async fn connects(creds: &str) -> Result<(), String> {
    let options = async_nats::ConnectOptions::with_credentials(creds)
        .map_err(|e| e.to_string())?
        .connection_timeout(Duration::from_secs(10));
    let client = options
        .connect(testenv::var("NATS_URL"))
        .await
        .map_err(|e| e.to_string())?;
    client.flush().await.map_err(|e| e.to_string())?;
    drop(client);
    Ok(())
}

/// The creds of every User Secret in `ns`, by User name.
async fn all_creds(client: &Client, ns: &str, driver: &DriverRequests) -> BTreeMap<String, String> {
    driver.add("LIST secrets", 1);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let list = secrets
        .list(&ListParams::default().labels("nauth.io/secret-type=user-creds"))
        .await;
    let Some(list) = polled(list) else {
        return BTreeMap::new();
    };
    list.items
        .into_iter()
        .filter_map(|s| {
            let name = s.name_any().strip_suffix("-nats-user-creds")?.to_string();
            let creds = s.data?.get("user.creds")?.0.clone();
            Some((name, String::from_utf8(creds).ok()?))
        })
        .collect()
}

/// Connects once as each of `users` (at most `concurrency` at once) until all did or `deadline`
/// passes; the users that never connected, the last error of one of them, and how many rounds
/// (each reading the creds Secrets anew) it took.
async fn connect_all(
    client: &Client,
    ns: &str,
    mut users: BTreeSet<String>,
    concurrency: usize,
    deadline: Instant,
    driver: &DriverRequests,
) -> (BTreeSet<String>, String, usize) {
    let (mut last_error, mut rounds) = (String::new(), 0);
    while !users.is_empty() && Instant::now() < deadline {
        rounds += 1;
        let creds = all_creds(client, ns, driver).await;
        let limit = Arc::new(Semaphore::new(concurrency));
        let mut tasks = JoinSet::new();
        for name in &users {
            let Some(creds) = creds.get(name).cloned() else {
                continue;
            };
            let (name, limit) = (name.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await.unwrap();
                (name, connects(&creds).await)
            });
        }
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                (name, Ok(())) => {
                    users.remove(&name);
                }
                (_, Err(e)) => last_error = e,
            }
        }
        if !users.is_empty() {
            tokio::time::sleep(POLL).await;
        }
    }
    (users, last_error, rounds)
}

/// Phase 1: everything created at once, then Ready, then one connection per user.
async fn create_phase(meter: &mut Meter<'_>, ns: &str, args: &Args) -> Phase {
    let client = meter.client.clone();
    meter.begin().await;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.cap);
    let mut objects: Vec<Value> = (0..args.accounts)
        .map(|a| account(ns, &account_name(a), json!({})))
        .collect();
    for a in 0..args.accounts {
        for u in 0..args.users {
            objects.push(user(ns, &user_name(a, u), user_spec(a, 1)));
        }
    }
    let total_users = args.accounts * args.users;
    apply_all(&client, ns, objects, &meter.driver).await;
    let applied = start.elapsed().as_secs_f64();
    let accounts: Api<Account> = Api::namespaced(client.clone(), ns);
    let users: Api<User> = Api::namespaced(client.clone(), ns);
    let (mut ready_accounts, mut ready_users) = (0, 0);
    while Instant::now() < deadline {
        meter.driver.add("LIST accounts", 1);
        meter.driver.add("LIST users", 1);
        let listed = (
            polled(accounts.list(&ListParams::default()).await),
            polled(users.list(&ListParams::default()).await),
        );
        if let (Some(a), Some(u)) = listed {
            ready_accounts = a.items.iter().filter(|a| is_ready(*a)).count();
            ready_users = u.items.iter().filter(|u| is_ready(*u)).count();
            if ready_accounts == args.accounts && ready_users == total_users {
                break;
            }
        }
        tokio::time::sleep(POLL).await;
    }
    let all_ready = ready_accounts == args.accounts && ready_users == total_users;
    let ready = all_ready.then(Instant::now);
    let mut detail = format!(
        "applied in {applied:.1} s; Ready: {ready_accounts}/{} Accounts, {ready_users}/{total_users} Users",
        args.accounts
    );
    if !all_ready || meter.which == Which::Floor {
        // The floor's creds are placeholders: its phase ends at Ready.
        return meter.end("create", start, ready, all_ready, detail).await;
    }
    let names = (0..args.accounts)
        .flat_map(|a| (0..args.users).map(move |u| user_name(a, u)))
        .collect();
    let (failed, error, rounds) = connect_all(
        &client,
        ns,
        names,
        args.connect_concurrency,
        deadline,
        &meter.driver,
    )
    .await;
    detail.push_str(&format!(
        "; connected: {}/{total_users} in {:.1} s, {rounds} round(s)",
        total_users - failed.len(),
        ready.map_or(0.0, |r| r.elapsed().as_secs_f64())
    ));
    if !failed.is_empty() {
        detail.push_str(&format!(" (last error: {error})"));
    }
    meter
        .end("create", start, ready, failed.is_empty(), detail)
        .await
}

/// Phase 2: one User's spec changed, until it is Ready with new creds that connect.
async fn change_user_phase(meter: &mut Meter<'_>, ns: &str, args: &Args) -> Phase {
    let client = meter.client.clone();
    let name = user_name(0, 0);
    let old = all_creds(&client, ns, &meter.driver).await.remove(&name);
    meter.begin().await;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.cap);
    meter.driver.add("APPLY users", 1);
    apply(&client, ns, user(ns, &name, user_spec(0, 2))).await;
    let users: Api<User> = Api::namespaced(client.clone(), ns);
    let mut ready = None;
    while Instant::now() < deadline {
        meter.driver.add("GET users", 1);
        let Some(u) = polled(users.get(&name).await) else {
            tokio::time::sleep(POLL).await;
            continue;
        };
        let observed = serde_json::to_value(&u).unwrap()["status"]["observedGeneration"].as_i64();
        let fresh = observed.is_none_or(|g| Some(g) == u.metadata.generation);
        let creds = all_creds(&client, ns, &meter.driver).await.remove(&name);
        if is_ready(&u) && fresh && creds.is_some() && creds != old {
            ready = Some(Instant::now());
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let Some(ready) = ready else {
        let detail = format!("{name}: no new creds within the cap");
        return meter.end("change-user", start, None, false, detail).await;
    };
    let (failed, error, _) = connect_all(
        &client,
        ns,
        BTreeSet::from([name.clone()]),
        1,
        deadline,
        &meter.driver,
    )
    .await;
    let detail = match failed.is_empty() {
        true => format!("{name}: Ready with new creds, connected"),
        false => format!("{name}: new creds do not connect: {error}"),
    };
    meter
        .end("change-user", start, Some(ready), failed.is_empty(), detail)
        .await
}

/// Phase 3: one Account's Users deleted, then the Account (NAuth refuses to delete an Account
/// that still has Users), until it is gone from the API server and from the resolver.
async fn delete_account_phase(meter: &mut Meter<'_>, ns: &str, args: &Args) -> Phase {
    let client = meter.client.clone();
    let accounts: Api<Account> = Api::namespaced(client.clone(), ns);
    let users: Api<User> = Api::namespaced(client.clone(), ns);
    let name = account_name(0);
    let id = accounts.get(&name).await.unwrap().labels()["account.nauth.io/id"].clone();
    meter.begin().await;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.cap);
    for u in 0..args.users {
        meter.driver.add("DELETE users", 1);
        users
            .delete(&user_name(0, u), &DeleteParams::default())
            .await
            .unwrap();
    }
    let mut left = args.users;
    while Instant::now() < deadline {
        meter.driver.add("LIST users", 1);
        let Some(list) = polled(users.list(&ListParams::default()).await) else {
            tokio::time::sleep(POLL).await;
            continue;
        };
        left = list
            .items
            .iter()
            .filter(|u| u.name_any().starts_with(&format!("{name}-")))
            .count();
        if left == 0 {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    if left > 0 {
        let detail = format!("{left} Users of {name} still there at the cap");
        return meter
            .end("delete-account", start, None, false, detail)
            .await;
    }
    meter.driver.add("DELETE accounts", 1);
    accounts
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    let system = std::fs::read_to_string(testenv::var("NATS_SYSTEM_CREDS")).unwrap();
    let (system, _) = nauth_tests::nats::connect(&system, Duration::from_secs(5)).await;
    let (mut gone, mut unknown) = (false, false);
    let mut ready = None;
    while Instant::now() < deadline {
        if !gone {
            meter.driver.add("GET accounts", 1);
            gone = matches!(polled(accounts.get_opt(&name).await), Some(None));
        }
        if gone && ready.is_none() {
            ready = Some(Instant::now());
        }
        let reply = system
            .request(format!("$SYS.REQ.ACCOUNT.{id}.CLAIMS.LOOKUP"), "".into())
            .await;
        unknown = reply.is_ok_and(|r| r.payload.is_empty());
        if gone && unknown {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let detail = format!(
        "{} Users deleted first; Account {}, resolver {}",
        args.users,
        if gone { "gone" } else { "still there" },
        if unknown {
            "has no JWT for it"
        } else {
            "still holds its JWT"
        }
    );
    meter
        .end("delete-account", start, ready, gone && unknown, detail)
        .await
}

/// Runs the three phases with `which`; stops it whatever happened.
async fn run(client: &Client, which: Which, args: &Args, clk_tck: f64) -> Vec<Phase> {
    let ns = fresh_namespace(client, &format!("bench-{}", which.name())).await;
    setup(client, &ns).await;
    let mut controller = Running::start(which, args, &ns);
    eprintln!(
        "{}: namespace {ns}, pid {}, log {}",
        which.name(),
        controller.child.id(),
        controller.log.display()
    );
    // Up means: it reconciled the NatsCluster (both controllers mark it Ready).
    let clusters: Api<NatsCluster> = Api::namespaced(client.clone(), &ns);
    let up_deadline = Instant::now() + Duration::from_secs(120);
    while !clusters.get(CLUSTER).await.is_ok_and(|c| is_ready(&c)) {
        assert!(
            Instant::now() < up_deadline,
            "{} did not make the NatsCluster Ready; log {}",
            which.name(),
            controller.log.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "{}: up, {:.2} CPU s, {:.1} MiB resident",
        which.name(),
        controller.cpu_ticks() as f64 / clk_tck,
        controller.memory_mib("VmRSS")
    );
    let mut meter = Meter {
        client,
        controller: &controller,
        which,
        driver: Arc::default(),
        clk_tck,
        cpu_ticks: 0,
        requests: BTreeMap::new(),
    };
    let mut phases = vec![create_phase(&mut meter, &ns, args).await];
    if phases[0].converged && which != Which::Floor {
        phases.push(change_user_phase(&mut meter, &ns, args).await);
        phases.push(delete_account_phase(&mut meter, &ns, args).await);
    }
    controller.stop();
    phases
}

/// Clock ticks per second (`getconf CLK_TCK`), the unit of /proc/PID/stat times.
fn clk_tck() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The phases as a Markdown table, the controllers side by side per phase.
fn table(phases: &[Phase]) -> String {
    let mut out = String::from(
        "| phase | controller | converged | Ready (s) | wall (s) | CPU (s) | peak RSS (MiB) | API writes | API reads | load | detail |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut order: Vec<&Phase> = phases.iter().collect();
    order.sort_by_key(|p| {
        ["create", "change-user", "delete-account"]
            .iter()
            .position(|n| *n == p.phase)
    });
    for p in order {
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.2} | {:.1} | {} | {} | {} | {} |\n",
            p.phase,
            p.controller,
            if p.converged { "yes" } else { "**no**" },
            p.ready_s,
            p.wall_s,
            p.cpu_s,
            p.peak_rss_mib,
            p.api_writes,
            p.api_reads,
            p.load,
            p.detail
        ));
    }
    out
}

/// Writes at once allowed to the `floor` writer (as many as nauth-apply reconciles at once).
const FLOOR_CONCURRENCY: usize = 24;

/// The `floor` writer: marks every NatsCluster, Account and User of `ns` Ready when it first sees
/// it, after creating a placeholder creds Secret for a User; each with one request, a merge
/// patch of the status or a create, the cheapest writes the API server takes. Runs until killed.
async fn floor_writer(ns: String) {
    let client = client().await;
    let limit = Arc::new(Semaphore::new(FLOOR_CONCURRENCY));
    tokio::join!(
        mark_ready::<NatsCluster>(&client, &ns, &limit),
        mark_ready::<Account>(&client, &ns, &limit),
        mark_ready::<User>(&client, &ns, &limit),
    );
}

/// Marks each `K` of `ns` Ready once (the floor writer's part for one kind).
async fn mark_ready<K>(client: &Client, ns: &str, limit: &Arc<Semaphore>)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + 'static,
{
    use futures_util::StreamExt;
    use kube::api::{Patch, PatchParams, PostParams};
    use kube::runtime::{WatchStreamExt, watcher};
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let mut seen = BTreeSet::new();
    let mut objects =
        std::pin::pin!(watcher(api.clone(), watcher::Config::default()).applied_objects());
    while let Some(object) = objects.next().await {
        let Ok(object) = object else { continue };
        if !seen.insert(object.uid().unwrap_or_default()) {
            continue;
        }
        let (api, secrets, name) = (api.clone(), secrets.clone(), object.name_any());
        let permit = limit.clone().acquire_owned().await.unwrap();
        tokio::spawn(async move {
            let _permit = permit;
            if K::kind(&()) == "User" {
                let secret: Secret = serde_json::from_value(json!({
                    "metadata": {
                        "name": format!("{name}-nats-user-creds"),
                        "labels": {"nauth.io/secret-type": "user-creds"},
                    },
                    "stringData": {"user.creds": "placeholder"},
                }))
                .unwrap();
                let _ = secrets.create(&PostParams::default(), &secret).await;
            }
            let ready = json!({"status": {"conditions": [{
                "type": "Ready", "status": "True", "reason": "Floor", "message": "",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }]}});
            let patch = Patch::Merge(&ready);
            if let Err(e) = api
                .patch_status(&name, &PatchParams::default(), &patch)
                .await
            {
                eprintln!("floor: {} {name}: {e}", K::kind(&()));
            }
        });
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Some(ns) = args.floor_writer {
        return floor_writer(ns).await;
    }
    // Checked before any run: a missing binary would otherwise stop the driver after the runs
    // before it.
    for which in &args.controllers {
        if let Err(e) = which.binary(&args) {
            eprintln!("bench-vs-nauth: {e}");
            std::process::exit(2);
        }
    }
    let client = client().await;
    let clk_tck = clk_tck();
    let mut phases = Vec::new();
    for which in args.controllers.clone() {
        phases.extend(run(&client, which, &args, clk_tck).await);
    }
    println!(
        "\n{} Accounts × {} Users, cap {} s per phase\n\n{}",
        args.accounts,
        args.users,
        args.cap,
        table(&phases)
    );
}
