//! `explain` against a real nats-server: generated permission sets, exports, imports and
//! subjects; for each case the library's verdict must equal what the server enforces, and the
//! cross-account routes it reports must be where messages really arrive.
//!
//! Cases come from a small seeded generator (reproducible in CI; `EXPLAIN_SEED` overrides the
//! seed, `EXPLAIN_ROUNDS` the number of rendered account sets). A disagreement prints the seed,
//! the round's resources and the case.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use nauth_render::explain::{Action, explain};
use nauth_render::render::{Preview, Rendered};
use nauth_tests::{nats, testenv};
use tokio::sync::mpsc;

const DEFAULT_SEED: u64 = 0x6e61_7574_6821;
const DEFAULT_ROUNDS: usize = 6;
/// How long the server's asynchronous `-ERR`s and deliveries get after a flush.
const SETTLE: Duration = Duration::from_millis(150);

/// SplitMix64: tiny, seedable, good enough to spread cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// First tokens: plain, the exporter's service and stream spaces, and the local renames.
const HEADS: &[&str] = &["a", "svc", "ev", "loc"];
const TAILS: &[&str] = &["a", "b"];

/// A literal subject of 1 to 3 tokens.
fn literal(rng: &mut Rng) -> String {
    let mut tokens = vec![rng.pick(HEADS).to_string()];
    for _ in 0..rng.below(3) {
        tokens.push(rng.pick(TAILS).to_string());
    }
    tokens.join(".")
}

/// A permission or subscription pattern: tokens, `*`, and sometimes a trailing `>`.
fn pattern(rng: &mut Rng) -> String {
    let mut tokens = vec![if rng.chance(20) {
        "*".to_string()
    } else {
        rng.pick(HEADS).to_string()
    }];
    for _ in 0..rng.below(3) {
        tokens.push(if rng.chance(35) { "*" } else { rng.pick(TAILS) }.to_string());
    }
    if rng.chance(25) {
        tokens.push(">".into());
    }
    tokens.join(".")
}

/// An export subject under `head`, and an import subject it covers.
fn export_and_import(rng: &mut Rng, head: &str) -> (String, String) {
    let rest: &[&str] = match rng.below(4) {
        0 => &[">"],
        1 => &["*"],
        2 => &["*", "*"],
        _ => &["a", "*"],
    };
    let export = format!("{head}.{}", rest.join("."));
    let narrowed: Vec<&str> = rest
        .iter()
        .map(|t| if *t == "*" && rng.chance(30) { "b" } else { t })
        .collect();
    (export, format!("{head}.{}", narrowed.join(".")))
}

/// A local subject for `import`: `loc.` in front, wildcards kept, sometimes by reference.
fn local_subject(rng: &mut Rng, import: &str) -> Option<String> {
    if !rng.chance(50) {
        return None;
    }
    let stars = import.split('.').filter(|t| *t == "*").count();
    if stars == 2 && rng.chance(50) {
        let head = import.split('.').next().unwrap();
        return Some(format!("loc.{head}.$2.$1"));
    }
    Some(format!("loc.{import}"))
}

fn list(rng: &mut Rng, max: usize, queue: bool) -> Vec<String> {
    (0..rng.below(max + 1))
        .map(|_| {
            let p = pattern(rng);
            if queue && rng.chance(20) {
                format!("{p} {}", rng.pick(&["q1", "q2"]))
            } else {
                p
            }
        })
        .collect()
}

/// Generated permission lists, kept so subjects can be drawn near their edges.
#[derive(Clone, Default)]
struct Lists {
    pub_allow: Vec<String>,
    pub_deny: Vec<String>,
    sub_allow: Vec<String>,
    sub_deny: Vec<String>,
    resp: bool,
}

impl Lists {
    fn generate(rng: &mut Rng) -> Option<Lists> {
        if rng.chance(15) {
            return None;
        }
        Some(Lists {
            pub_allow: list(rng, 2, false),
            pub_deny: list(rng, 1, false),
            sub_allow: list(rng, 2, true),
            sub_deny: list(rng, 1, true),
            resp: rng.chance(25),
        })
    }

    fn yaml(&self) -> String {
        let json = |v: &[String]| serde_json::to_string(v).unwrap();
        let resp = if self.resp { ", resp: {max: 1}" } else { "" };
        format!(
            "{{pub: {{allow: {}, deny: {}}}, sub: {{allow: {}, deny: {}}}{resp}}}",
            json(&self.pub_allow),
            json(&self.pub_deny),
            json(&self.sub_allow),
            json(&self.sub_deny),
        )
    }
}

/// Half the time a subject built from one of `entries` (the subject part): its wildcards
/// filled with tokens, or (for subscriptions) one token turned into `*` or the tail into `>`,
/// so cases sit at the edges of the rules; otherwise a fresh one.
fn near(rng: &mut Rng, entries: &[String], wildcards: bool) -> String {
    if entries.is_empty() || rng.chance(50) {
        return if wildcards && rng.chance(70) {
            pattern(rng)
        } else {
            literal(rng)
        };
    }
    let entry = entries[rng.below(entries.len())].split(' ').next().unwrap();
    let mut tokens: Vec<String> = entry
        .split('.')
        .map(|t| match t {
            "*" if !wildcards || rng.chance(50) => rng.pick(TAILS).to_string(),
            ">" if !wildcards || rng.chance(50) => {
                let mut tail = vec![rng.pick(TAILS).to_string()];
                if rng.chance(50) {
                    tail.push(rng.pick(TAILS).into());
                }
                tail.join(".")
            }
            t => t.to_string(),
        })
        .collect();
    if wildcards && rng.chance(50) {
        let i = rng.below(tokens.len());
        if rng.chance(50) {
            tokens[i] = "*".into();
        } else {
            tokens.truncate(i + 1);
            tokens[i] = ">".into();
        }
    }
    tokens.join(".")
}

/// One generated account set: resources and the names of its users.
struct Round {
    yaml: String,
    /// The exports' subjects and the imports' local subjects, to draw subjects near them.
    hot: Vec<String>,
    /// Cases asked on top of the generated ones: `(user, action, subject)`.
    fixed: Vec<(String, Action, String)>,
    /// `(namespace/name, account name, permission lists)` of the generated users.
    users: Vec<(String, &'static str, Lists)>,
}

fn generate(rng: &mut Rng, ns: &str) -> Round {
    let mut yaml = String::new();
    let mut doc = |s: String| {
        yaml.push_str("---\n");
        yaml.push_str(&s);
        yaml.push('\n');
    };
    let cluster = "natsClusterRef: {name: local-nats, namespace: nats}";
    for account in ["exp", "imp"] {
        let defaults = if rng.chance(20) {
            Lists::generate(rng)
                .map(|p| format!(", defaultPermissions: {}", p.yaml()))
                .unwrap_or_default()
        } else {
            String::new()
        };
        doc(format!(
            "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {{name: {account}, namespace: {ns}}}\nspec: {{{cluster}{defaults}}}"
        ));
    }
    let (svc_export, svc_import) = export_and_import(rng, "svc");
    let (ev_export, ev_import) = export_and_import(rng, "ev");
    doc(format!(
        "apiVersion: nauth.io/v1alpha1\nkind: AccountExport\nmetadata: {{name: exp-out, namespace: {ns}}}\n\
         spec: {{accountName: exp, rules: [{{subject: {svc_export:?}, type: service}}, {{subject: {ev_export:?}, type: stream}}]}}"
    ));
    let rule = |subject: &str, kind: &str, local: Option<String>| match local {
        Some(l) => format!("{{subject: {subject:?}, type: {kind}, localSubject: {l:?}}}"),
        None => format!("{{subject: {subject:?}, type: {kind}}}"),
    };
    let svc_local = local_subject(rng, &svc_import);
    let ev_local = local_subject(rng, &ev_import);
    let mut hot = vec![svc_export.clone(), ev_export.clone()];
    hot.extend(svc_local.clone());
    hot.extend(ev_local.clone());
    let svc_rule = rule(&svc_import, "service", svc_local);
    let ev_rule = rule(&ev_import, "stream", ev_local);
    doc(format!(
        "apiVersion: nauth.io/v1alpha1\nkind: AccountImport\nmetadata: {{name: imp-in, namespace: {ns}}}\n\
         spec: {{accountName: imp, exportAccountRef: {{name: exp, namespace: {ns}}}, rules: [{svc_rule}, {ev_rule}]}}"
    ));
    let mut users = Vec::new();
    for (i, account) in ["imp", "imp", "imp", "exp", "exp", "exp"]
        .into_iter()
        .enumerate()
    {
        let name = format!("u{i}");
        let lists = Lists::generate(rng);
        let perms = lists
            .as_ref()
            .map(|p| format!(", permissions: {}", p.yaml()))
            .unwrap_or_default();
        doc(format!(
            "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{accountName: {account}{perms}}}"
        ));
        users.push((format!("{ns}/{name}"), account, lists.unwrap_or_default()));
    }
    for account in ["exp", "imp"] {
        // Probes see every message of their account: no permissions of their own and, since
        // an Account's default permissions would apply to them, a `>` allow as their own.
        doc(format!(
            "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {{name: probe-{account}, namespace: {ns}}}\n\
             spec: {{accountName: {account}, permissions: {{pub: {{allow: [\">\"]}}, sub: {{allow: [\">\"]}}}}}}"
        ));
    }
    Round {
        yaml,
        users,
        hot,
        fixed: Vec::new(),
    }
}

/// Known edges of nats-server's rules, asked before the generated rounds so each run covers
/// them whatever the seed.
fn edges(ns: &str) -> Round {
    let cluster = "natsClusterRef: {name: local-nats, namespace: nats}";
    let user = |name: &str, account: &str, perms: &str| {
        let perms = if perms.is_empty() {
            String::new()
        } else {
            format!(", permissions: {perms}")
        };
        format!(
            "---\napiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {{name: {name}, namespace: {ns}}}\n\
             spec: {{accountName: {account}{perms}}}\n"
        )
    };
    let mut yaml = format!(
        "---\napiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {{name: exp, namespace: {ns}}}\n\
         spec: {{{cluster}, jetStreamEnabled: false, defaultPermissions: {{pub: {{allow: [\"dflt.>\"]}}}}}}\n\
         ---\napiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {{name: imp, namespace: {ns}}}\n\
         spec: {{{cluster}}}\n\
         ---\napiVersion: nauth.io/v1alpha1\nkind: AccountExport\nmetadata: {{name: exp-out, namespace: {ns}}}\n\
         spec: {{accountName: exp, rules: [{{subject: \"svc.*.*\", type: service}}, {{subject: \"ev.>\", type: stream}}]}}\n\
         ---\napiVersion: nauth.io/v1alpha1\nkind: AccountImport\nmetadata: {{name: imp-in, namespace: {ns}}}\n\
         spec: {{accountName: imp, exportAccountRef: {{name: exp, namespace: {ns}}}, rules: [\
         {{subject: \"svc.*.*\", type: service, localSubject: \"loc.svc.$2.$1\"}}, \
         {{subject: \"ev.>\", type: stream, localSubject: \"loc.ev.>\"}}]}}\n"
    );
    let users = [
        ("star", "imp", r#"{sub: {allow: ["a.*"], deny: ["e.*"]}}"#),
        (
            "resp",
            "imp",
            r#"{sub: {allow: ["_INBOX.>"]}, resp: {max: 1}}"#,
        ),
        ("resp-allow", "imp", r#"{pub: {allow: ["a"]}, resp: {}}"#),
        (
            "queue",
            "imp",
            r#"{sub: {allow: ["q.a w1", "q.b"], deny: ["q.b w2"]}}"#,
        ),
        ("open", "imp", ""),
        ("dflt", "exp", ""),
        (
            "js-off",
            "exp",
            r#"{pub: {allow: [">"]}, sub: {allow: [">"]}}"#,
        ),
    ];
    for (name, account, perms) in users {
        yaml.push_str(&user(name, account, perms));
    }
    for account in ["exp", "imp"] {
        yaml.push_str(&user(
            &format!("probe-{account}"),
            account,
            r#"{pub: {allow: [">"]}, sub: {allow: [">"]}}"#,
        ));
    }
    let sub = |q: Option<&str>| Action::Subscribe {
        queue: q.map(str::to_string),
    };
    let fixed = [
        ("star", sub(None), "a.>"),
        ("star", sub(None), "a.*"),
        ("star", sub(None), "a.b.c"),
        ("star", sub(None), "e.>"),
        ("star", sub(None), "e.a.b"),
        ("resp", Action::Publish, "a"),
        ("resp", Action::Request, "a"),
        ("resp-allow", Action::Publish, "a"),
        ("resp-allow", Action::Publish, "b"),
        ("queue", sub(None), "q.a"),
        ("queue", sub(Some("w1")), "q.a"),
        ("queue", sub(Some("w2")), "q.a"),
        ("queue", sub(None), "q.b"),
        ("queue", sub(Some("w2")), "q.b"),
        ("queue", sub(Some("w3")), "q.b"),
        ("queue", sub(Some("_sys_")), "q.b"),
        ("open", Action::Publish, "loc.svc.x.y"),
        ("open", Action::Publish, "$NRG.x"),
        ("open", Action::Request, "$JS.API.INFO"),
        ("dflt", Action::Publish, "dflt.a"),
        ("dflt", Action::Publish, "other"),
        ("js-off", Action::Request, "$JS.API.INFO"),
    ];
    Round {
        yaml,
        users: users
            .iter()
            .map(|(name, account, _)| {
                let account = if *account == "exp" { "exp" } else { "imp" };
                (format!("{ns}/{name}"), account, Lists::default())
            })
            .collect(),
        hot: vec!["loc.svc.*.*".into(), "ev.>".into(), "loc.ev.>".into()],
        fixed: fixed
            .into_iter()
            .map(|(u, a, s)| (format!("{ns}/{u}"), a, s.to_string()))
            .collect(),
    }
}

fn render_round(round: &Round) -> Rendered {
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart");
    let cluster = std::fs::read_to_string(quickstart.join("nats-cluster.yaml")).unwrap();
    let files = [
        ("nats-cluster.yaml", cluster),
        ("round.yaml", round.yaml.clone()),
    ];
    nats::render_with_operator(&files, b"explain-vs-nats-seed-root-0123456789abcdef")
        .unwrap_or_else(|e| panic!("{e:?}\n{}", round.yaml))
}

/// Connects with the short request timeout the probes use.
async fn connect(creds: &str) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    nats::connect(creds, Duration::from_millis(200)).await
}

/// Everything that arrived so far, after letting the server settle.
async fn drain<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> Vec<T> {
    tokio::time::sleep(SETTLE).await;
    let mut out = Vec::new();
    while let Ok(item) = rx.try_recv() {
        out.push(item);
    }
    out
}

/// Pushes the round's accounts; the server must accept each (the exporter sorts first, so the
/// importer finds it).
async fn push_accounts(rendered: &Rendered) {
    for (name, data) in nats::push_accounts(rendered).await {
        assert_eq!(data["code"], 200, "{name}: {data}");
    }
}

/// One question asked of both explain and the server.
struct Case {
    user: String,
    action: Action,
    subject: String,
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.action {
            Action::Publish => write!(f, "{} --pub {}", self.user, self.subject),
            Action::Request => write!(f, "{} --request {}", self.user, self.subject),
            Action::Subscribe { queue: None } => write!(f, "{} --sub {}", self.user, self.subject),
            Action::Subscribe { queue: Some(q) } => {
                write!(f, "{} --sub {} --queue {q}", self.user, self.subject)
            }
        }
    }
}

#[derive(Default)]
struct Tally {
    cases: usize,
    agreed: usize,
    /// Server verdicts per action: (allowed, denied), to show both sides were exercised.
    verdicts: std::collections::BTreeMap<&'static str, (usize, usize)>,
    routes_checked: usize,
    /// JetStream API requests whose reply was compared with explain's JetStream note.
    jetstream_checked: usize,
    disagreements: Vec<String>,
}

impl Tally {
    fn record(&mut self, seed: u64, round: &Round, case: &Case, explained: bool, server: bool) {
        self.cases += 1;
        let kind = match case.action {
            Action::Publish => "publish",
            Action::Subscribe { queue: None } => "subscribe",
            Action::Subscribe { queue: Some(_) } => "queue subscribe",
            Action::Request => "request",
        };
        let entry = self.verdicts.entry(kind).or_default();
        if server {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
        if explained == server {
            self.agreed += 1;
        } else {
            self.disagreements.push(format!(
                "seed {seed:#x}: {case}: explain says allowed={explained}, nats-server \
                 allowed={server}\n{}",
                round.yaml
            ));
        }
    }
}

/// A subscriber to `>` of one account, collecting (subject, payload).
async fn probe(
    rendered: &Rendered,
    key: &str,
) -> (
    async_nats::Client,
    mpsc::UnboundedReceiver<(String, String)>,
) {
    let (client, _) = connect(&nats::creds(rendered, key)).await;
    let mut sub = client.subscribe(">").await.unwrap();
    nats::subscribed(&client, &[">"]).await;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            let payload = String::from_utf8_lossy(&m.payload).into_owned();
            if payload.starts_with("m-") {
                let _ = tx.send((m.subject.to_string(), payload));
            }
        }
    });
    (client, rx)
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn explain_agrees_with_nats_server() {
    testenv::require();
    let seed = std::env::var("EXPLAIN_SEED")
        .ok()
        .map(|s| {
            let s = s.trim_start_matches("0x");
            u64::from_str_radix(s, 16).expect("EXPLAIN_SEED is hex")
        })
        .unwrap_or(DEFAULT_SEED);
    let rounds = std::env::var("EXPLAIN_ROUNDS")
        .ok()
        .map(|s| s.parse().expect("EXPLAIN_ROUNDS is a number"))
        .unwrap_or(DEFAULT_ROUNDS);
    let started = std::time::Instant::now();
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    // Namespaces differ per run, so account keys (derived from namespace/name) are new even
    // when the same server serves several runs.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000;
    // Round 0 is the hand-written edges round; the others are generated.
    for r in 0..=rounds {
        let ns = format!("x{run}-{r}");
        let round = if r == 0 {
            edges(&ns)
        } else {
            generate(&mut rng, &ns)
        };
        let rendered = render_round(&round);
        let world = Preview::from(rendered.clone());
        push_accounts(&rendered).await;
        let (_exp_probe, mut exp_seen) = probe(&rendered, &format!("{ns}/probe-exp")).await;
        let (_imp_probe, mut imp_seen) = probe(&rendered, &format!("{ns}/probe-imp")).await;
        let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
        let mut marker = 0;
        let mut publishers = round.users.clone();
        publishers.push((format!("{ns}/probe-exp"), "exp", Lists::default()));
        for (user, account, lists) in &publishers {
            let (client, mut errors) = connect(&nats::creds(&rendered, user)).await;
            let pub_entries: Vec<String> = [&lists.pub_allow, &lists.pub_deny, &round.hot]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let sub_entries: Vec<String> = [&lists.sub_allow, &lists.sub_deny, &round.hot]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let mut plan: Vec<(Action, String)> = round
                .fixed
                .iter()
                .filter(|(u, _, _)| u == user)
                .map(|(_, a, s)| (a.clone(), s.clone()))
                .collect();
            for _ in 0..12 {
                plan.push((Action::Publish, near(&mut rng, &pub_entries, false)));
            }
            for _ in 0..12 {
                let subject = near(&mut rng, &sub_entries, true);
                let queue = rng
                    .chance(30)
                    .then(|| rng.pick(&["q1", "q2", "q3"]).to_string());
                plan.push((Action::Subscribe { queue }, subject));
            }
            for _ in 0..2 {
                plan.push((Action::Request, near(&mut rng, &pub_entries, false)));
            }
            let mut ops: Vec<(Case, bool, String)> = Vec::new();
            let mut subs = Vec::new();
            let mut requests = Vec::new();
            for (action, subject) in plan {
                let e = explain(&world, user, &action, &subject).unwrap();
                let key = match &action {
                    Action::Request => {
                        // What explain says about JetStream answering, when it says anything.
                        let js = e.notes.iter().find_map(|n| {
                            n.starts_with("JetStream is enabled")
                                .then_some(true)
                                .or(n.starts_with("JetStream is not enabled").then_some(false))
                        });
                        requests.push((subject, e.allowed, js));
                        continue;
                    }
                    Action::Publish => {
                        marker += 1;
                        let payload = format!("m-{r}-{marker}");
                        client
                            .publish(subject.clone(), payload.clone().into())
                            .await
                            .unwrap();
                        if e.allowed {
                            expected.insert((format!("{account}:{subject}"), payload.clone()));
                            for route in e.routes.iter().filter(|r| r.active) {
                                // Service imports carry the publish to the exporter, stream
                                // imports carry the exporter's publish to the importer.
                                let side = if route.kind == "service" {
                                    "exp"
                                } else {
                                    "imp"
                                };
                                expected
                                    .insert((format!("{side}:{}", route.subject), payload.clone()));
                            }
                        }
                        format!("Permissions Violation for Publish to {subject:?}")
                    }
                    Action::Subscribe { queue: Some(q) } => {
                        subs.push(
                            client
                                .queue_subscribe(subject.clone(), q.clone())
                                .await
                                .unwrap(),
                        );
                        format!(
                            "Permissions Violation for Subscription to {subject:?} using queue {q:?}"
                        )
                    }
                    Action::Subscribe { queue: None } => {
                        subs.push(client.subscribe(subject.clone()).await.unwrap());
                        format!("Permissions Violation for Subscription to {subject:?}")
                    }
                };
                ops.push((
                    Case {
                        user: user.clone(),
                        action,
                        subject,
                    },
                    e.allowed,
                    key,
                ));
            }
            client.flush().await.unwrap();
            let violations: BTreeSet<String> = drain(&mut errors).await.into_iter().collect();
            for (case, explained, key) in &ops {
                tally.record(seed, &round, case, *explained, !violations.contains(key));
            }
            drop(subs);
            // Requests, each on a fresh connection: the client subscribes its reply inbox on
            // the first request, as every NATS client does.
            for (subject, explained, js) in requests {
                let (client, mut errors) = connect(&nats::creds(&rendered, user)).await;
                let reply = client.request(subject.clone(), "request".into()).await;
                if let (Some(js), Ok(reply)) = (js, &reply) {
                    // The JetStream API answers with an `error` object where it is not enabled.
                    let body: serde_json::Value =
                        serde_json::from_slice(&reply.payload).unwrap_or_default();
                    let enabled = body.get("error").is_none();
                    tally.jetstream_checked += 1;
                    if enabled != js {
                        tally.disagreements.push(format!(
                            "seed {seed:#x}: {user} --request {subject}: explain says JetStream \
                             enabled={js}, the server answered {body}\n{}",
                            round.yaml
                        ));
                    }
                }
                client.flush().await.unwrap();
                let violated = drain(&mut errors)
                    .await
                    .iter()
                    .any(|m| m.starts_with("Permissions Violation"));
                let case = Case {
                    user: user.clone(),
                    action: Action::Request,
                    subject,
                };
                tally.record(seed, &round, &case, explained, !violated);
            }
        }
        // Where accepted publishes arrived, against the routes explain reported.
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        seen.extend(
            drain(&mut exp_seen)
                .await
                .into_iter()
                .map(|(s, p)| (format!("exp:{s}"), p)),
        );
        seen.extend(
            drain(&mut imp_seen)
                .await
                .into_iter()
                .map(|(s, p)| (format!("imp:{s}"), p)),
        );
        tally.routes_checked += expected.len();
        if seen != expected {
            let missing: Vec<_> = expected.difference(&seen).collect();
            let extra: Vec<_> = seen.difference(&expected).collect();
            tally.disagreements.push(format!(
                "seed {seed:#x} round {r}: deliveries differ from explain's routes; expected but \
                 not seen: {missing:?}; seen but not expected: {extra:?}\n{}",
                round.yaml
            ));
        }
    }
    println!(
        "explain vs nats-server: seed {seed:#x}, edges round + {rounds} generated rounds, {} cases, {} agreed, {} \
         deliveries checked, {} JetStream replies checked, {:.1} s; server verdicts (allowed, denied): {:?}",
        tally.cases,
        tally.agreed,
        tally.routes_checked,
        tally.jetstream_checked,
        started.elapsed().as_secs_f64(),
        tally.verdicts
    );
    assert!(
        tally.disagreements.is_empty(),
        "{} disagreement(s):\n{}",
        tally.disagreements.len(),
        tally.disagreements.join("\n")
    );
}
