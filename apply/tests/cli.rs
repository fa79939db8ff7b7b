//! The `nauth-apply` binary's command line: a bad invocation is refused by clap (exit 2) with a
//! message naming the option, before any client is made.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nauth-apply"))
        .args(args)
        .env_remove("NAUTH_RESYNC_INTERVAL")
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_invalid_namespace_is_refused_naming_the_option() {
    for bad in ["Shop", "shop_1", "-shop", "shop-", &"a".repeat(64), ""] {
        let (code, stderr) = run(&[&format!("--namespace={bad}")]);
        assert_eq!(code, 2, "{bad:?}: {stderr}");
        assert!(stderr.contains("--namespace"), "{stderr}");
        assert!(stderr.contains("not a namespace name"), "{stderr}");
    }
}

#[test]
fn a_resync_interval_must_be_a_positive_number_of_seconds() {
    for bad in ["0", "-5", "1.5", "soon"] {
        let (code, stderr) = run(&[&format!("--resync-interval={bad}")]);
        assert_eq!(code, 2, "{bad:?}: {stderr}");
        assert!(stderr.contains("--resync-interval"), "{stderr}");
    }
}

#[test]
fn log_format_and_level_take_nauths_values_only() {
    for (flag, bad) in [("--log-format", "yaml"), ("--log-level", "loud")] {
        let (code, stderr) = run(&[&format!("{flag}={bad}")]);
        assert_eq!(code, 2, "{flag}={bad}: {stderr}");
        assert!(stderr.contains(flag), "{stderr}");
    }
}

#[test]
fn a_bind_address_must_be_a_port_an_ip_and_port_or_zero() {
    for flag in ["--health-probe-bind-address", "--metrics-bind-address"] {
        for bad in ["8081", "localhost:8081", ":http", ""] {
            let (code, stderr) = run(&[&format!("{flag}={bad}")]);
            assert_eq!(code, 2, "{flag}={bad}: {stderr}");
            assert!(stderr.contains(flag), "{stderr}");
            assert!(stderr.contains("not a listen address"), "{stderr}");
        }
    }
}

#[test]
fn leader_elect_takes_gos_boolean_values() {
    let (code, stderr) = run(&["--leader-elect=maybe"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--leader-elect"), "{stderr}");
    // Valid forms get past the command line (then fail for want of a cluster: exit 2 too, but
    // with the client's message).
    for good in ["--leader-elect", "--leader-elect=true", "--leader-elect=0"] {
        let (_, stderr) = run(&[good]);
        assert!(stderr.contains("no Kubernetes client"), "{good}: {stderr}");
    }
}
