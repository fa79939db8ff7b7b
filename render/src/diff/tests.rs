//! Diffs of small trees rendered in memory, then previewed from their locks without seeds.

use super::*;
use crate::input::{Contents, Inputs};
use crate::keys::{KeySources, SeedRoot};
use crate::render::{Options, preview, render};

fn tree(orders_spec: &str, user_spec: &str, extra: &str) -> Vec<String> {
    let operator = nkeys::KeyPair::new_from_raw(nkeys::KeyPairType::Operator, [1; 32]).unwrap();
    let seed = operator.seed().unwrap();
    vec![
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: op, namespace: nats}}\nstringData: {{default: {seed}}}\n---\n\
             apiVersion: nauth.io/v1alpha1\nkind: NatsCluster\nmetadata: {{name: nats, namespace: nats}}\n\
             spec: {{url: 'nats://x', operatorSigningKeySecretRef: {{name: op}}, systemAccountUserCredsSecretRef: {{name: sys}}}}\n"
        ),
        format!(
            "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {{name: orders, namespace: shop}}\n\
             spec:\n  natsClusterRef: {{name: nats, namespace: nats}}\n{orders_spec}"
        ),
        "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {name: billing, namespace: shop}\n\
         spec:\n  natsClusterRef: {name: nats, namespace: nats}\n  \
         exports: [{name: ev, subject: 'billing.>', type: stream}]\n"
            .into(),
        format!(
            "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {{name: app, namespace: shop}}\n\
             spec:\n  accountName: orders\n{user_spec}"
        ),
        extra.to_string(),
    ]
}

fn inputs(docs: &[String]) -> Inputs {
    let mut inputs = Inputs::default();
    for (i, doc) in docs.iter().enumerate() {
        let problems = inputs.add_yaml(&format!("f{i}.yaml"), doc, Contents::Everything);
        assert!(problems.is_empty(), "{problems:?}");
    }
    inputs
}

/// Renders `docs` with keys (after `previous`), then previews them from the new lock alone.
fn side(docs: &[String], previous: &Lock) -> (Preview, Lock) {
    let inputs = inputs(docs);
    let root = SeedRoot::new(&[7; 32]).unwrap();
    let keys = KeySources {
        secrets: &inputs.secrets,
        seed_root: Some(&root),
    };
    let lock = render(&inputs, keys, previous, 1_800_000_000, &Options::default())
        .unwrap()
        .lock;
    let mut keyless = inputs;
    keyless.secrets.clear();
    (
        preview(&keyless, &lock, 0, &Options::default()).unwrap(),
        lock,
    )
}

fn compare(base: &[String], head: &[String]) -> Vec<ObjectDiff> {
    let old = side(base, &Lock::new());
    let new = side(head, &old.1);
    diff_sides(&old, &new)
}

fn diff_sides(
    (old, old_lock): &(Preview, Lock),
    (new, new_lock): &(Preview, Lock),
) -> Vec<ObjectDiff> {
    diff(
        Side {
            preview: old,
            lock: old_lock,
        },
        Side {
            preview: new,
            lock: new_lock,
        },
    )
}

const IMPORT: &str = "  imports: [{accountRef: {name: billing, namespace: shop}, subject: 'billing.>', type: stream}]\n";

#[test]
fn the_same_tree_has_no_diff_and_says_so() {
    let docs = tree(IMPORT, "", "");
    let diffs = compare(&docs, &docs);
    assert_eq!(diffs, []);
    assert_eq!(
        text(&diffs, Style::default()),
        "No change to the effective authorization.\n"
    );
    assert_eq!(
        json(&diffs),
        "{\n  \"changed\": false,\n  \"objects\": []\n}\n"
    );
}

#[test]
fn limits_rules_and_permissions_show_old_and_new() {
    let base = tree(IMPORT, "  permissions: {pub: {allow: ['orders.>']}}\n", "");
    let head = tree(
        "  accountLimits: {conn: 10}\n  exports: [{name: api, subject: 'orders.api.>', type: service, responseType: Stream}]\n",
        "  permissions: {pub: {allow: ['orders.>', 'audit.>'], deny: ['orders.secret']}}\n",
        "",
    );
    let diffs = compare(&base, &head);
    let out = text(&diffs, Style::default());
    assert_eq!(
        out,
        "Account shop/orders (changed)\n\
         \x20 + exports[service \"orders.api.>\"]: name=\"api\", response_type=\"Stream\"\n\
         \x20 - imports[stream \"billing.>\" from Account shop/billing (ABQHG2YE…)]\n\
         \x20 ~ limits.conn: -1 (unlimited) → 10\n\
         \x20 + revocations[User shop/app (UDIMUQZQ…)]: 2027-01-15T08:00:00Z\n\
         User shop/app (changed)\n\
         \x20 + pub.allow[\"audit.>\"]\n\
         \x20 + pub.deny[\"orders.secret\"]\n\
         1 account and 1 user changed.\n"
    );
}

#[test]
fn a_scope_template_change_shows_on_the_key_and_on_every_user_it_signs() {
    let ask = |allow: &str| {
        format!(
            "apiVersion: nauth.io/v1alpha1\nkind: AccountSigningKey\nmetadata: {{name: apps, namespace: shop}}\n\
             spec: {{scope: {{role: app, template: {{permissions: {{pub: {{allow: [{allow}]}}}}}}}}}}\n"
        )
    };
    let orders = "  signingKeyRefs: [{name: apps}]\n";
    let user = "  signingKeyRef: {name: apps}\n";
    let base = tree(orders, user, &ask("'app.>'"));
    let head = tree(orders, user, &ask("'app.>', 'x.>'"));
    let out = text(&compare(&base, &head), Style::default());
    let key = out
        .split("signing_keys[AccountSigningKey shop/apps (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    assert_eq!(
        out,
        format!(
            "Account shop/orders (changed)\n\
             \x20 + signing_keys[AccountSigningKey shop/apps ({key})].template.pub.allow[\"x.>\"]\n\
             User shop/app (changed)\n\
             \x20 + pub.allow[\"x.>\"]\n\
             1 account and 1 user changed.\n"
        )
    );
}

#[test]
fn added_and_removed_users_list_their_facts_and_markdown_pairs_old_with_new() {
    let second = "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {name: batch, namespace: shop}\n\
                  spec: {accountName: billing, permissions: {sub: {allow: ['billing.>']}}, expiresAt: '2030-01-01T00:00:00Z'}\n";
    let base = tree(IMPORT, "", "");
    let head = tree(IMPORT, "  natsLimits: {subs: 5}\n", second);
    let diffs = compare(&base, &head);
    assert_eq!(
        diffs
            .iter()
            .map(|d| (d.object.as_str(), d.status))
            .collect::<Vec<_>>(),
        [
            ("shop/orders", Status::Changed),
            ("shop/app", Status::Changed),
            ("shop/batch", Status::Added)
        ]
    );
    let md = markdown(&diffs);
    assert!(md.starts_with("### NATS authorization changes\n\n1 account and 2 users changed.\n"));
    assert!(
        md.contains(
            "**User `shop/app`** (changed)\n\n```diff\n- subs: -1 (unlimited)\n+ subs: 5\n```\n"
        ),
        "{md}"
    );
    assert!(md.contains("+ exp: 2030-01-01T00:00:00Z\n"), "{md}");
    assert!(md.contains("+ sub.allow[\"billing.>\"]\n"), "{md}");
    // The removed user's key is revoked by its account, at the time it was issued.
    let removed = compare(&head, &base);
    let of = |object: &str| removed.iter().find(|d| d.object == object).unwrap();
    assert_eq!(of("shop/batch").status, Status::Removed);
    assert!(of("shop/batch").changes.iter().all(|c| c.new.is_none()));
    let revoked = text(std::slice::from_ref(of("shop/billing")), Style::default());
    assert!(
        revoked.contains("+ revocations[User shop/batch (U")
            && revoked.contains(": 2027-01-15T08:00:00Z\n"),
        "{revoked}"
    );
}

#[test]
fn json_has_typed_values_and_null_for_a_missing_side() {
    let second = "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {name: batch, namespace: shop}\n\
                  spec: {accountName: billing, expiresAt: '2030-01-01T00:00:00Z'}\n";
    let base = tree(IMPORT, "", "");
    let head = tree(
        "  accountLimits: {conn: 10}\n  exports: [{name: api, subject: 'orders.api.>', type: service}]\n",
        "",
        second,
    );
    let old = side(&base, &Lock::new());
    let new = side(&head, &old.1);
    let diffs = diff_sides(&old, &new);
    let v: serde_json::Value = serde_json::from_str(&json(&diffs)).unwrap();
    let change = |object: &str, path: &str| {
        let o = (v["objects"].as_array().unwrap().iter())
            .find(|o| o["object"] == object)
            .unwrap_or_else(|| panic!("{object} in {v}"));
        (o["changes"].as_array().unwrap().iter())
            .find(|c| c["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {o}"))
            .clone()
    };
    assert_eq!(
        change("shop/orders", "limits.conn"),
        serde_json::json!({"path": "limits.conn", "old": -1, "new": 10})
    );
    let export = r#"exports[service "orders.api.>"]"#;
    assert_eq!(
        change("shop/orders", export),
        serde_json::json!({"path": export, "old": null, "new": true})
    );
    assert_eq!(
        change("shop/orders", &format!("{export}.name")),
        serde_json::json!({"path": format!("{export}.name"), "old": null, "new": "api"})
    );
    let batch = new.0.users.iter().find(|u| u.name == "batch").unwrap();
    assert_eq!(
        change("shop/batch", "exp"),
        serde_json::json!({"path": "exp", "old": null, "new": 1_893_456_000})
    );
    assert_eq!(
        change("shop/batch", "public_key"),
        serde_json::json!({"path": "public_key", "old": null, "new": batch.claims.data.sub})
    );
}
