//! `nauth-render explain` as users run it on the quickstart: exit codes, text and JSON output,
//! error messages.

mod common;
mod quickstart;

use common::{nauth_render, text};

use std::process::Output;

/// `explain` on the quickstart (its seed root and committed lock) with `args` after it.
fn explain(args: &[&str]) -> Output {
    let q = quickstart::dir();
    let mut all = vec![
        "explain".to_string(),
        q.display().to_string(),
        "--seed-root".into(),
        q.join("seed-root").display().to_string(),
        "--lock".into(),
        q.join("nauth.lock").display().to_string(),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    nauth_render(&all.iter().map(String::as_str).collect::<Vec<_>>(), "")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&output.stdout)))
}

#[test]
fn an_allowed_service_call_exits_0_and_names_the_rule_and_the_import() {
    let out = explain(&["--user", "shop/invoicer", "--pub", "orders.lookup.42"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "allowed: shop/invoicer may publish to orders.lookup.42\n  \
         permissions of shop/invoicer (Account shop/billing): the user's own spec.permissions\n  \
         publish orders.lookup.42: allowed by spec.permissions.pub.allow[0] \"orders.lookup.*\"\n  \
         route: service import \"orders.lookup.*\" from Account shop/orders (export \
         \"orders.lookup.*\", service): delivered to shop/orders as orders.lookup.42; may \
         subscribe there: shop/orders-service\n"
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn a_denied_publish_exits_1_and_says_deny_wins() {
    let out = explain(&["--user", "shop/invoicer", "--pub", "orders.lookup.admin"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "denied: shop/invoicer may not publish to orders.lookup.admin\n  \
         permissions of shop/invoicer (Account shop/billing): the user's own spec.permissions\n  \
         publish orders.lookup.admin: denied by spec.permissions.pub.deny[0] \
         \"orders.lookup.admin\", which wins over spec.permissions.pub.allow[0] \
         \"orders.lookup.*\"\n"
    );
}

#[test]
fn json_output_has_the_documented_shape() {
    let out = explain(&[
        "--user",
        "shop/invoicer",
        "--sub",
        "billing.orders.>",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        json(&out),
        serde_json::json!({
            "allowed": true,
            "user": "shop/invoicer",
            "account": "shop/billing",
            "action": "subscribe",
            "subject": "billing.orders.>",
            "queue": null,
            "permissions": "the user's own spec.permissions",
            "checks": [{
                "operation": "subscribe",
                "subject": "billing.orders.>",
                "allowed": true,
                "rule": {"source": "spec.permissions.sub.allow[1]", "entry": "billing.orders.>"},
                "reason": "allowed by spec.permissions.sub.allow[1] \"billing.orders.>\""
            }],
            "routes": [{
                "kind": "stream",
                "import": "orders.events.>",
                "local_subject": "billing.orders.>",
                "account": "shop/orders",
                "export": "orders.events.>",
                "subject": "orders.events.>",
                "active": true,
                "users": [],
                "reason": "stream import \"orders.events.>\" (local subject \"billing.orders.>\") \
                           from Account shop/orders (export \"orders.events.>\", stream): receives \
                           what is published in shop/orders to orders.events.>"
            }],
            "notes": []
        })
    );
}

#[test]
fn requests_check_the_reply_inbox_too() {
    // orders-service may not subscribe to any inbox, so it cannot make requests.
    let out = explain(&[
        "--user",
        "shop/orders-service",
        "--request",
        "orders.events.x",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["checks"][0]["allowed"], true);
    assert_eq!(v["checks"][1]["subject"], "_INBOX.<random>.*");
    assert_eq!(v["checks"][1]["allowed"], false);
    let ok = explain(&["--user", "shop/invoicer", "--request", "orders.lookup.1"]);
    assert_eq!(ok.status.code(), Some(0));
}

#[test]
fn jetstream_api_requests_say_whether_jetstream_answers() {
    // A user without permissions in billing, whose Account has `jetStreamEnabled: false`.
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.yaml");
    std::fs::write(
        &probe,
        "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {name: js-probe, namespace: shop}\n\
         spec: {accountName: billing}\n",
    )
    .unwrap();
    let out = explain(&[
        probe.to_str().unwrap(),
        "--user",
        "shop/js-probe",
        "--request",
        "$JS.API.INFO",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(
        v["permissions"],
        "neither the user nor Account shop/billing (spec.defaultPermissions) has any"
    );
    assert_eq!(
        v["notes"],
        serde_json::json!([
            "JetStream is not enabled for Account shop/billing (no JetStream limits in its JWT): \
             the server answers JetStream API requests with an error"
        ])
    );
}

#[test]
fn errors_exit_2_with_exact_messages() {
    let out = explain(&["--user", "shop/x", "--pub", "a"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "error: User shop/x is not in the input\n"
    );

    let out = explain(&["--user", "shop/invoicer", "--pub", "orders.*"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: cannot publish to \"orders.*\": only subscriptions may use wildcards\n"
    );

    let out = explain(&["--user", "invoicer", "--pub", "a"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: --user must be NAMESPACE/NAME, got \"invoicer\"\n"
    );

    let out = explain(&["--user", "shop/invoicer"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "one of --pub, --sub, --request is required"
    );

    let out = explain(&["--user", "shop/invoicer", "--pub", "a", "--queue", "q"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "error: --queue only goes with --sub\n");
}

#[test]
fn bad_input_exits_2_and_seeds_are_never_printed() {
    let out = nauth_render(
        &["explain", "-", "--user", "shop/u", "--pub", "a"],
        "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {name: u, namespace: shop}\nspec: {}\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).ends_with("problem(s) in the input; nothing was explained\n"),
        "{}",
        text(&out.stderr)
    );
    let seed_root = std::fs::read_to_string(quickstart::dir().join("seed-root")).unwrap();
    let out = explain(&[
        "--user",
        "shop/invoicer",
        "--pub",
        "orders.lookup.1",
        "-o",
        "json",
    ]);
    for stream in [&out.stdout, &out.stderr] {
        let s = text(stream);
        assert!(!s.contains("SU"), "no seed in {s}");
        assert!(!s.contains(seed_root.trim()));
    }
}

#[test]
fn without_keys_the_locks_public_keys_give_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    quickstart::copy_manifests(dir.path());
    let question = [
        "--user",
        "shop/invoicer",
        "--pub",
        "orders.lookup.42",
        "-o",
        "json",
    ];
    let lock = dir.path().join("nauth.lock");
    let mut keyless = vec![
        "explain",
        dir.path().to_str().unwrap(),
        "--lock",
        lock.to_str().unwrap(),
    ];
    keyless.extend(question);
    let without = nauth_render(&keyless, "");
    assert_eq!(without.status.code(), Some(0), "{}", text(&without.stderr));
    assert_eq!(json(&without), json(&explain(&question)));
}

#[test]
fn a_seed_typed_as_the_user_is_not_printed() {
    let seed = nkeys::KeyPair::new_user().seed().unwrap();
    for user in [format!("shop/{seed}"), seed.clone()] {
        let out = explain(&["--user", &user, "--pub", "a"]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert!(!stderr.contains(&seed[2..]), "{stderr}");
        assert!(stderr.contains("not shown)"), "{stderr}");
    }
}
