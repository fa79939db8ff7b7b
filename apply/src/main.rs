//! `nauth-apply`: the controller binary. Reads its settings, sets up logging and a client
//! (KUBECONFIG, else in-cluster), and runs the controllers of the `nauth_apply` library.

use std::process::ExitCode;

use clap::Parser;

/// NAuth-compatible controller: renders NAuth custom resources with nauth-render's library and
/// performs the side effects (Secrets, NATS resolver, status).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Watch one namespace only (default: all namespaces).
    #[arg(long, value_parser = parse_namespace)]
    namespace: Option<String>,
    /// The operator's NatsCluster as `namespace/name`: Accounts without spec.natsClusterRef use
    /// it, and (unless NATS_CLUSTER_REF_OPTIONAL) may not name another.
    #[arg(long, env = "NATS_CLUSTER_REF")]
    nats_cluster_ref: Option<String>,
    /// Accounts may name a NatsCluster other than NATS_CLUSTER_REF (Go's ParseBool values).
    #[arg(long, env = "NATS_CLUSTER_REF_OPTIONAL", value_parser = parse_go_bool, default_value = "false")]
    nats_cluster_ref_optional: bool,
    /// Deprecated, NAuth's NATS_URL mode: the NATS URL for Accounts without
    /// spec.natsClusterRef when NATS_CLUSTER_REF is unset; the operator signing key and system
    /// user creds are the Secrets labelled nauth.io/secret-type=operator-sign and
    /// =system-account-user-creds in the controller's namespace (--namespace, else
    /// POD_NAMESPACE, else the client's).
    #[arg(long, env = "NATS_URL")]
    nats_url: Option<String>,
    /// Seconds between two reconciles of a Ready object. For an Account this is the drift
    /// check: every resolver of its cluster is asked for the account's JWT, and the rendered one
    /// is pushed again where it is missing or older (e.g. a wiped resolver).
    /// Empty means the default.
    #[arg(long, env = "NAUTH_RESYNC_INTERVAL", value_name = "SECONDS", default_value = DEFAULT_RESYNC, value_parser = parse_seconds)]
    resync_interval: std::time::Duration,
    /// Log format (NAuth's flag): `text`, one human-readable line per event, or `json`, one
    /// JSON object per line for log collectors.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Least severe level logged (NAuth's flag). RUST_LOG, when set, takes precedence and may
    /// set levels per module (e.g. `info,nauth_apply=debug`).
    #[arg(long, value_enum, default_value = "info")]
    log_level: LogLevel,
    /// Where `/healthz` and `/readyz` are served (NAuth's flag and default): `host:port`,
    /// `:port` for every interface, or `0` for nowhere.
    #[arg(long, value_name = "ADDRESS", default_value = ":8081", value_parser = parse_bind)]
    health_probe_bind_address: Bind,
    /// Where Prometheus `/metrics` is served (NAuth's flag and default: `0`, off): `host:port`,
    /// `:port` for every interface, or `0` for nowhere. Plain HTTP.
    #[arg(long, value_name = "ADDRESS", default_value = "0", value_parser = parse_bind)]
    metrics_bind_address: Bind,
    /// Leader election (NAuth's flag): of the replicas started with it, only the holder of the
    /// Lease `949483fb.nauth.io` runs the controllers; the others wait to take over. Takes Go's
    /// boolean values (`--leader-elect`, `--leader-elect=false`).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "false", value_parser = parse_go_bool)]
    leader_elect: bool,
    /// Namespace of the leader Lease (default: POD_NAMESPACE, else the client's namespace,
    /// in a Pod its own).
    #[arg(long, value_parser = parse_namespace)]
    leader_election_namespace: Option<String>,
    /// Pre-rendered mode, for GitOps: nauth-render (CLI, Argo CD plugin, KRM function) renders
    /// the account JWT ConfigMaps, creds Secrets and deletion requests, applied with the custom
    /// resources; the controller checks them against the specs and the servers' trusted
    /// operators, pushes them and writes status. It never generates or reads an account,
    /// signing or operator seed and writes no Secret.
    #[arg(long, env = "NAUTH_PRE_RENDERED", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = parse_go_bool)]
    pre_rendered: bool,
}

/// A listening address, or none (`0`).
#[derive(Clone, Debug)]
struct Bind(Option<std::net::SocketAddr>);

/// Go's listen addresses as controller-runtime takes them: `0` (off), `:port` (every
/// interface), `host:port` with an IP address.
fn parse_bind(s: &str) -> Result<Bind, String> {
    if s == "0" {
        return Ok(Bind(None));
    }
    let full = match s.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => s.to_string(),
    };
    full.parse()
        .map(|a| Bind(Some(a)))
        .map_err(|_| format!("{s:?} is not a listen address: `:port`, `ip:port` or `0` (off)"))
}

/// `--log-format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum LogFormat {
    Text,
    Json,
}

/// `--log-level`: NAuth's levels.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// Logs to stderr in `format`: RUST_LOG's directives, else `level` for everything but kube's
/// own chatter (warnings only).
fn init_logging(format: LogFormat, level: LogLevel) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        let level = format!("{level:?}").to_lowercase();
        format!("{level},kube=warn").into()
    });
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

/// A whole number of seconds, at least 1.
fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let s = match s.trim() {
        "" => DEFAULT_RESYNC,
        s => s,
    };
    let out_of_range = || format!("{s} is out of range: 1 to {MAX_RESYNC} seconds (a year)");
    match s.parse::<u64>() {
        Ok(n @ 1..=MAX_RESYNC) => Ok(std::time::Duration::from_secs(n)),
        Ok(_) => Err(out_of_range()),
        // Digits only, but more than a u64 holds.
        Err(_) if s.bytes().all(|b| b.is_ascii_digit()) => Err(out_of_range()),
        Err(_) => Err(format!("{s:?} is not a whole number of seconds")),
    }
}

/// The resync interval when none is given (or `NAUTH_RESYNC_INTERVAL` is empty).
const DEFAULT_RESYNC: &str = "300";
/// The longest resync interval: longer is surely a typo, and much longer overflows timers.
const MAX_RESYNC: u64 = 365 * 24 * 3600;

/// A namespace name: an RFC 1123 label, as the API server requires.
fn parse_namespace(s: &str) -> Result<String, String> {
    let label = s.len() <= 63 && nauth_render::api::is_dns_label(s);
    if label {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a namespace name: at most 63 characters, lowercase letters, digits and \
             '-', starting and ending with a letter or digit (RFC 1123 label)"
        ))
    }
}

/// Go's `strconv.ParseBool`, as NAuth reads `NATS_CLUSTER_REF_OPTIONAL`.
fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" | "" => Ok(false),
        _ => Err(format!("{s:?} is not a boolean (true/false/1/0/t/f)")),
    }
}

/// `namespace/name`, both non-empty.
fn parse_ref(s: &str) -> Result<(String, String), String> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((ns.to_string(), name.to_string()))
        }
        _ => Err(format!(
            "NATS_CLUSTER_REF must be namespace/name, got {s:?}"
        )),
    }
}

/// This replica's identity in leader election: its host name (a Pod's name) and process id,
/// as controller-runtime names holders by host.
fn identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|| "nauth-apply".into());
    format!("{host}_{}", std::process::id())
}

// One thread: the controller waits on the API server and NATS nearly all the time (about 5 CPU
// seconds to create 100 Accounts x 10 Users in 18 s), and with one thread the allocator keeps
// one arena: peak resident memory 33 instead of 41 MiB (BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.log_format, args.log_level);
    let default_cluster = match args
        .nats_cluster_ref
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(parse_ref)
    {
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            tracing::error!("nauth-apply: {e}");
            return ExitCode::from(1);
        }
        None => None,
    };
    let client = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("nauth-apply: no Kubernetes client (KUBECONFIG or in-cluster): {e}");
            return ExitCode::from(2);
        }
    };
    let nats_url = match args.nats_url.filter(|u| !u.trim().is_empty()) {
        Some(_) if default_cluster.is_some() => {
            tracing::warn!("NATS_URL is ignored: NATS_CLUSTER_REF is set");
            None
        }
        Some(url) => {
            // As NAuth: the watched namespace, else the controller's own.
            let namespace = (args.namespace.clone())
                .or_else(|| std::env::var("POD_NAMESPACE").ok())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| client.default_namespace().to_string());
            tracing::warn!(namespace = %namespace, "{}", nauth_render::input::nats_url::HOW_TO_MOVE);
            Some(nauth_apply::NatsUrl { url, namespace })
        }
        None => None,
    };
    let config = nauth_apply::Config {
        namespace: args.namespace,
        default_cluster,
        cluster_optional: args.nats_cluster_ref_optional,
        nats_url,
        version: env!("CARGO_PKG_VERSION").to_string(),
        resync: args.resync_interval,
        probe_address: args.health_probe_bind_address.0,
        metrics_address: args.metrics_bind_address.0,
        leader_election: args.leader_elect.then(|| {
            let namespace = (args.leader_election_namespace)
                .or_else(|| std::env::var("POD_NAMESPACE").ok())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| client.default_namespace().to_string());
            (namespace, identity())
        }),
        pre_rendered: args.pre_rendered,
    };
    let code = match nauth_apply::run(client, config).await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("nauth-apply: {e}");
            2
        }
    };
    // Reconciles abandoned at shutdown, or still running when leadership is lost, may hold
    // the runtime: do not wait for them.
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resync_intervals_are_whole_seconds_within_a_year_and_empty_is_the_default() {
        assert_eq!(parse_seconds("60"), Ok(std::time::Duration::from_secs(60)));
        assert_eq!(parse_seconds(""), Ok(std::time::Duration::from_secs(300)));
        assert_eq!(parse_seconds(" "), Ok(std::time::Duration::from_secs(300)));
        for bad in ["0", "31536001", "99999999999999999999999"] {
            let e = parse_seconds(bad).unwrap_err();
            assert!(e.contains("out of range: 1 to 31536000"), "{bad}: {e}");
        }
        for bad in ["1.5", "-3", "5m"] {
            let e = parse_seconds(bad).unwrap_err();
            assert!(e.contains("not a whole number"), "{bad}: {e}");
        }
    }
}
