use super::*;
use crate::jwt::{Export, ExportType, Import, Permission, Permissions, ResponsePermission};

const ORDERS: &str = "AORDERS";
const BILLING: &str = "ABILLING";

fn account(key: &str, exports: Vec<Export>, imports: Vec<Import>) -> jwt::Claims<jwt::Account> {
    let mut body = jwt::Account::new();
    body.exports = exports;
    body.imports = imports;
    jwt::Claims::new(key, body)
}

fn user(account: &str, permissions: Permissions) -> jwt::Claims<jwt::User> {
    let mut body = jwt::User::new();
    body.issuer_account = account.to_string();
    body.permission_limits.permissions = permissions;
    let mut claims = jwt::Claims::new("UUSER", body);
    claims.data.iss = "ASIGNER".into();
    claims
}

fn side(allow: &[&str], deny: &[&str]) -> Permission {
    Permission {
        allow: allow.iter().map(|s| s.to_string()).collect(),
        deny: deny.iter().map(|s| s.to_string()).collect(),
    }
}

fn perms(pub_: Permission, sub: Permission) -> Permissions {
    Permissions {
        pub_,
        sub,
        resp: None,
    }
}

fn export(subject: &str, kind: ExportType) -> Export {
    Export {
        subject: subject.into(),
        export_type: kind,
        ..Default::default()
    }
}

fn import(from: &str, subject: &str, local: &str, kind: ExportType) -> Import {
    Import {
        account: from.into(),
        subject: subject.into(),
        local_subject: local.into(),
        import_type: kind,
        ..Default::default()
    }
}

/// A world of two accounts (orders exports, billing imports) and the given users, each
/// `(namespace/name, claims)`.
struct Fixture {
    accounts: Vec<(String, jwt::Claims<jwt::Account>)>,
    users: Vec<(String, jwt::Claims<jwt::User>)>,
}

impl Fixture {
    fn new(users: Vec<(&str, jwt::Claims<jwt::User>)>) -> Self {
        let orders = account(
            ORDERS,
            vec![
                export("orders.lookup.*", ExportType::Service),
                export("orders.events.>", ExportType::Stream),
            ],
            vec![],
        );
        let billing = account(
            BILLING,
            vec![],
            vec![
                import(ORDERS, "orders.lookup.*", "", ExportType::Service),
                import(
                    ORDERS,
                    "orders.events.>",
                    "billing.orders.>",
                    ExportType::Stream,
                ),
            ],
        );
        Fixture {
            accounts: vec![("orders".into(), orders), ("billing".into(), billing)],
            users: users.into_iter().map(|(n, c)| (n.to_string(), c)).collect(),
        }
    }

    fn world(&self) -> Preview {
        fn shop<T: jwt::ClaimBody>(objects: &[(String, jwt::Claims<T>)]) -> Vec<Previewed<T>> {
            (objects.iter())
                .map(|(name, claims)| Previewed {
                    namespace: "shop".into(),
                    name: name.clone(),
                    claims: claims.clone(),
                })
                .collect()
        }
        Preview {
            accounts: shop(&self.accounts),
            users: shop(&self.users),
            ..Preview::default()
        }
    }

    fn ask(&self, user: &str, action: Action, subject: &str) -> Explanation {
        explain(&self.world(), &format!("shop/{user}"), &action, subject).unwrap()
    }
}

fn sub() -> Action {
    Action::Subscribe { queue: None }
}

fn queue(q: &str) -> Action {
    Action::Subscribe {
        queue: Some(q.into()),
    }
}

#[test]
fn allow_lists_with_wildcards_decide_and_name_the_entry() {
    let f = Fixture::new(vec![(
        "u",
        user(BILLING, perms(side(&["a.*", "b.>"], &[]), side(&[], &[]))),
    )]);
    let e = f.ask("u", Action::Publish, "b.x.y");
    assert!(e.allowed);
    assert_eq!(
        e.checks[0].rule,
        Some(Rule {
            source: "spec.permissions.pub.allow[1]".into(),
            entry: "b.>".into()
        })
    );
    assert_eq!(
        e.checks[0].reason,
        r#"allowed by spec.permissions.pub.allow[1] "b.>""#
    );
    let e = f.ask("u", Action::Publish, "a.x.y");
    assert!(!e.allowed);
    assert_eq!(
        e.checks[0].reason,
        r#"no entry of spec.permissions.pub.allow matches ("a.*", "b.>")"#
    );
    assert!(
        !f.ask("u", Action::Publish, "b").allowed,
        "`>` needs a token"
    );
}

#[test]
fn deny_wins_over_allow() {
    let f = Fixture::new(vec![(
        "u",
        user(
            BILLING,
            perms(side(&["orders.>"], &["orders.admin.*"]), side(&[], &[])),
        ),
    )]);
    let e = f.ask("u", Action::Publish, "orders.admin.x");
    assert!(!e.allowed);
    assert_eq!(
        e.checks[0].reason,
        r#"denied by spec.permissions.pub.deny[0] "orders.admin.*", which wins over spec.permissions.pub.allow[0] "orders.>""#
    );
    assert_eq!(e.checks[0].rule.as_ref().unwrap().entry, "orders.admin.*");
}

#[test]
fn empty_lists_allow_everything_but_deny_still_applies() {
    let f = Fixture::new(vec![
        ("open", user(BILLING, Permissions::default())),
        (
            "deny-only",
            user(BILLING, perms(side(&[], &["x.>"]), side(&[], &["y"]))),
        ),
    ]);
    let e = f.ask("open", Action::Publish, "anything.at.all");
    assert!(e.allowed);
    assert_eq!(
        e.permissions,
        "neither the user nor Account shop/billing (spec.defaultPermissions) has any"
    );
    assert!(f.ask("deny-only", Action::Publish, "z").allowed);
    assert!(!f.ask("deny-only", Action::Publish, "x.1").allowed);
    assert!(!f.ask("deny-only", sub(), "y").allowed);
    let e = f.ask("deny-only", sub(), "z");
    assert_eq!(
        e.checks[0].reason,
        "spec.permissions.sub.allow is empty (everything allowed) and no entry of \
         spec.permissions.sub.deny matches"
    );
}

#[test]
fn account_default_permissions_apply_to_users_without_their_own() {
    let mut f = Fixture::new(vec![("plain", user(BILLING, Permissions::default()))]);
    f.accounts[1].1.nats.default_permissions = perms(side(&["d.>"], &[]), side(&[], &[]));
    let e = f.ask("plain", Action::Publish, "e.1");
    assert!(!e.allowed);
    assert_eq!(
        e.checks[0].reason,
        r#"no entry of Account shop/billing spec.defaultPermissions.pub.allow matches ("d.>")"#
    );
    assert!(e.permissions.contains("has none of its own"));
}

#[test]
fn subscriptions_read_wildcards_as_the_server_does() {
    let f = Fixture::new(vec![(
        "u",
        user(
            BILLING,
            perms(side(&[], &[]), side(&["a.*", "b.c"], &["a.x", "d.*"])),
        ),
    )]);
    assert!(f.ask("u", sub(), "a.*").allowed);
    assert!(
        f.ask("u", sub(), "a.>").allowed,
        "nats-server lets `a.*` admit a subscription to `a.>`"
    );
    assert!(
        !f.ask("u", sub(), "b.*").allowed,
        "a literal never admits a wildcard"
    );
    // A deny that only overlaps a wildcard subscription filters delivery instead.
    let e = f.ask("u", sub(), "a.*");
    assert_eq!(
        e.notes,
        vec![
            r#"messages matching spec.permissions.sub.deny[0] "a.x" are not delivered to this subscription (nats-server filters them on delivery)"#
        ]
    );
    assert!(!f.ask("u", sub(), "a.x").allowed);
}

#[test]
fn queue_entries_speak_only_about_queue_subscriptions() {
    let f = Fixture::new(vec![(
        "u",
        user(
            BILLING,
            perms(
                side(&[], &[]),
                side(&["q.only workers", "both", "both v1.*"], &["both v1.bad"]),
            ),
        ),
    )]);
    assert!(!f.ask("u", sub(), "q.only").allowed);
    assert!(f.ask("u", queue("workers"), "q.only").allowed);
    assert!(!f.ask("u", queue("other"), "q.only").allowed);
    assert!(f.ask("u", sub(), "both").allowed);
    assert!(f.ask("u", queue("v1.a"), "both").allowed);
    assert!(
        !f.ask("u", queue("v2"), "both").allowed,
        "queue entries decide"
    );
    let e = f.ask("u", queue("v1.bad"), "both");
    assert!(!e.allowed);
    assert_eq!(e.checks[0].rule.as_ref().unwrap().entry, "both v1.bad");
    assert!(!f.ask("u", queue("_sys_"), "both").allowed);
}

#[test]
fn response_permission_turns_off_the_blanket_publish_allow() {
    let mut p = perms(side(&[], &[]), side(&["s"], &[]));
    p.resp = Some(ResponsePermission { max: 1, ttl_ns: 0 });
    let f = Fixture::new(vec![("r", user(BILLING, p))]);
    let e = f.ask("r", Action::Publish, "anything");
    assert!(!e.allowed);
    assert_eq!(
        e.checks[0].reason,
        "spec.permissions.pub.allow is empty but resp is set: nats-server then allows \
         publishing only to reply subjects of requests the user received"
    );
    assert_eq!(e.notes.len(), 1);
    assert_eq!(
        e.notes[0],
        "spec.permissions.resp also lets the user publish to the reply subject of each request \
         it receives (at most 1 reply per request, within 2 minutes, the server's default); that \
         is decided at run time, per request, not here"
    );
}

#[test]
fn requests_need_the_publish_and_the_reply_inbox() {
    let f = Fixture::new(vec![
        (
            "ok",
            user(
                BILLING,
                perms(side(&["svc"], &[]), side(&["_INBOX.>"], &[])),
            ),
        ),
        (
            "no-inbox",
            user(BILLING, perms(side(&["svc"], &[]), side(&["other"], &[]))),
        ),
        (
            "literal-inbox",
            user(
                BILLING,
                perms(side(&["svc"], &[]), side(&["_INBOX.abc.*"], &[])),
            ),
        ),
    ]);
    let e = f.ask("ok", Action::Request, "svc");
    assert!(e.allowed);
    assert_eq!(e.checks.len(), 2);
    assert_eq!(e.checks[1].subject, "_INBOX.<random>.*");
    let e = f.ask("no-inbox", Action::Request, "svc");
    assert!(!e.allowed);
    assert!(e.checks[0].allowed && !e.checks[1].allowed);
    assert_eq!(
        e.checks[1].reason,
        r#"no entry of spec.permissions.sub.allow matches ("other")"#
    );
    assert!(!f.ask("literal-inbox", Action::Request, "svc").allowed);
}

#[test]
fn service_imports_carry_a_publish_to_the_exporter() {
    let f = Fixture::new(vec![
        ("caller", user(BILLING, Permissions::default())),
        (
            "responder",
            user(
                ORDERS,
                perms(side(&[], &[]), side(&["orders.lookup.*"], &[])),
            ),
        ),
    ]);
    let e = f.ask("caller", Action::Publish, "orders.lookup.7");
    assert_eq!(e.routes.len(), 1);
    let r = &e.routes[0];
    assert_eq!(
        (r.kind.as_str(), r.account.as_str(), r.subject.as_str()),
        ("service", "shop/orders", "orders.lookup.7")
    );
    assert_eq!(r.export.as_deref(), Some("orders.lookup.*"));
    assert_eq!(r.users, vec!["shop/responder"]);
    assert_eq!(
        r.reason,
        r#"service import "orders.lookup.*" from Account shop/orders (export "orders.lookup.*", service): delivered to shop/orders as orders.lookup.7; may subscribe there: shop/responder"#
    );
    assert!(
        f.ask("caller", Action::Publish, "orders.other")
            .routes
            .is_empty()
    );
}

#[test]
fn stream_imports_with_local_subjects_reach_subscribers_of_the_importer() {
    let f = Fixture::new(vec![
        ("reader", user(BILLING, Permissions::default())),
        (
            "writer",
            user(
                ORDERS,
                perms(side(&["orders.events.>"], &[]), side(&[], &[])),
            ),
        ),
    ]);
    let e = f.ask("reader", sub(), "billing.orders.created");
    assert_eq!(e.routes.len(), 1);
    assert_eq!(e.routes[0].subject, "orders.events.created");
    assert_eq!(e.routes[0].users, vec!["shop/writer"]);
    assert_eq!(
        e.routes[0].reason,
        r#"stream import "orders.events.>" (local subject "billing.orders.>") from Account shop/orders (export "orders.events.>", stream): receives what is published in shop/orders to orders.events.created; may publish there: shop/writer"#
    );
    // The publisher's side: who takes its stream.
    let e = f.ask("writer", Action::Publish, "orders.events.created");
    assert_eq!(e.routes.len(), 1);
    assert_eq!(
        (e.routes[0].account.as_str(), e.routes[0].subject.as_str()),
        ("shop/billing", "billing.orders.created")
    );
    assert_eq!(e.routes[0].users, vec!["shop/reader"]);
}

#[test]
fn imports_without_a_covering_export_are_inactive() {
    let mut f = Fixture::new(vec![("caller", user(BILLING, Permissions::default()))]);
    f.accounts[0].1.nats.exports.clear();
    let e = f.ask("caller", Action::Publish, "orders.lookup.7");
    assert!(!e.routes[0].active);
    assert_eq!(
        e.routes[0].reason,
        r#"service import "orders.lookup.*" from Account shop/orders: no service export covers "orders.lookup.*", so nats-server ignores the import"#
    );
}

#[test]
fn jetstream_api_is_only_useful_with_jetstream_limits() {
    let mut f = Fixture::new(vec![("u", user(BILLING, Permissions::default()))]);
    let e = f.ask("u", Action::Request, "$JS.API.INFO");
    assert!(
        e.allowed,
        "the permission check does not depend on JetStream"
    );
    assert_eq!(
        e.notes,
        vec![
            "JetStream is not enabled for Account shop/billing (no JetStream limits in its JWT): \
             the server answers JetStream API requests with an error"
        ]
    );
    f.accounts[1].1.nats.limits.jetstream.disk_storage = -1;
    let e = f.ask("u", Action::Request, "$JS.API.INFO");
    assert_eq!(
        e.notes,
        vec!["JetStream is enabled for Account shop/billing"]
    );
}

#[test]
fn raft_subjects_are_closed_to_clients() {
    let f = Fixture::new(vec![("u", user(BILLING, Permissions::default()))]);
    let e = f.ask("u", Action::Publish, "$NRG.x");
    assert!(!e.allowed);
    assert_eq!(
        e.checks[0].reason,
        "nats-server refuses client publishes to $NRG.> (its Raft groups) in every account but \
         the system account"
    );
}

#[test]
fn bad_questions_are_errors() {
    let f = Fixture::new(vec![("u", user(BILLING, Permissions::default()))]);
    let w = f.world();
    assert_eq!(
        explain(&w, "shop/x", &Action::Publish, "a")
            .unwrap_err()
            .to_string(),
        "User shop/x is not in the input"
    );
    assert_eq!(
        explain(&w, "shop/u", &Action::Publish, "a.*")
            .unwrap_err()
            .to_string(),
        r#"cannot publish to "a.*": only subscriptions may use wildcards"#
    );
    assert_eq!(
        explain(&w, "shop/u", &sub(), "a..b")
            .unwrap_err()
            .to_string(),
        "subject \"a..b\" cannot contain consecutive `.`"
    );
    let mut lost = f.users[0].1.clone();
    lost.nats.issuer_account = "AGONE".into();
    let lost = Fixture {
        accounts: vec![],
        users: vec![("lost".into(), lost)],
    };
    assert_eq!(
        explain(&lost.world(), "shop/lost", &Action::Publish, "a")
            .unwrap_err()
            .to_string(),
        "the account of User shop/lost (AGONE) is not in the input"
    );
}

#[test]
fn scoped_signing_keys_replace_the_users_permissions() {
    let mut f = Fixture::new(vec![(
        "scoped",
        user(BILLING, perms(side(&["own"], &[]), side(&[], &[]))),
    )]);
    let mut scope = jwt::UserScope::new("ASIGNER");
    scope.role = "reader".into();
    scope.template.permissions = perms(side(&["tpl.>"], &[]), side(&[], &[]));
    f.accounts[1].1.nats.signing_keys.add_scoped(scope);
    let e = f.ask("scoped", Action::Publish, "tpl.1");
    assert!(e.allowed);
    assert_eq!(
        e.checks[0].reason,
        r#"allowed by template of scoped signing key "reader".pub.allow[0] "tpl.>""#
    );
    assert!(!f.ask("scoped", Action::Publish, "own").allowed);
}

#[test]
fn text_output_is_a_verdict_line_and_indented_reasons() {
    let f = Fixture::new(vec![(
        "u",
        user(
            BILLING,
            perms(side(&["orders.lookup.*"], &[]), side(&[], &[])),
        ),
    )]);
    assert_eq!(
        f.ask("u", Action::Publish, "orders.lookup.7").to_text(),
        "allowed: shop/u may publish to orders.lookup.7\n  \
         permissions of shop/u (Account shop/billing): the user's own spec.permissions\n  \
         publish orders.lookup.7: allowed by spec.permissions.pub.allow[0] \"orders.lookup.*\"\n  \
         route: service import \"orders.lookup.*\" from Account shop/orders (export \
         \"orders.lookup.*\", service): delivered to shop/orders as orders.lookup.7; no user in \
         the input may subscribe there\n"
    );
    assert!(
        f.ask("u", Action::Publish, "x")
            .to_text()
            .starts_with("denied: shop/u may not publish to x\n")
    );
}
