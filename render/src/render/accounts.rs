//! Account identities, then account JWTs with their adopted export and import groups.

use std::collections::BTreeMap;

use crate::api::{self, ACCOUNT_ID_LABEL, MANAGEMENT_POLICY_LABEL, REVOKE_ON_REISSUE_ANNOTATION};
use crate::claims::{self, AccountInput, Adoption, RuleGroup, SigningKeyEntry};
use crate::diagnostic::{Code, Diagnostic};
use crate::input::{Inputs, Object};
use crate::keys::{self, KEY_GENERATION_ANNOTATION, Keys};
use crate::lock::LockEntry;

use super::revocations::{self, Members};
use super::{
    Adoptions, Context, Identities, Identity, Options, RenderedAccount, Report, by_key,
    claims_error, display_name, observed, ref_key, signing_key_object,
};

/// An Account's keys, resolved before anything is rendered, so imports and users can name its
/// ID. `previous` is its lock record, whose ID the keys found must have (unless its
/// `account.nauth.io/id` label says one).
pub(super) fn identity(
    cx: &Context,
    a: &Object<api::Account>,
    previous: Option<&LockEntry>,
) -> (Option<Identity>, Report) {
    let mut report = Report::default();
    let label = a.label(ACCOUNT_ID_LABEL);
    if observed(a) && label.is_none() {
        report.push(a.error(
            Some("metadata.labels"),
            format!("observe mode needs the {ACCOUNT_ID_LABEL} label: the account is read from NATS by its ID"),
        ).with_code(Code::InvalidSpec));
        return (None, report);
    }
    let locked = previous.map(|e| e.public_key.as_str());
    let keys = match cx.keys.account(a, label.or(locked)) {
        Ok(keys) => keys,
        Err(e) => {
            report.push(
                a.error(None, &e.message)
                    .with_code(e.code())
                    .with_hint(e.hint.clone()),
            );
            return (None, report);
        }
    };
    report.record_key("Account", a.key(), &keys.sign);
    let id = keys.root.public_key().to_string();
    if let Some(old) = &keys.rotated_from {
        report.push(
            a.warning(
                Some(&format!(
                    "metadata.annotations[{KEY_GENERATION_ANNOTATION}]"
                )),
                format!(
                    "rotates the account key: account ID {old} becomes {id}; its users and the \
                     imports of it are re-issued, and NATS keeps the old account until it is \
                     deleted from the resolver"
                ),
            )
            .with_code(Code::KeyRotation),
        );
    }
    // Revocations of another account ID (before a key rotation) do not concern this one.
    let revoked = previous
        .filter(|p| p.public_key == id)
        .map(|p| p.revocations.clone())
        .unwrap_or_default();
    let identity = Identity {
        id,
        sign: keys.sign,
        managed: !observed(a),
        revoked,
    };
    (Some(identity), report)
}

/// Whole-graph checks of identities: no two Accounts share an account ID, and each
/// NatsCluster's system account is known (warned once per cluster, even without Accounts).
pub(super) fn check_identities(cx: &Context, identities: &Identities, report: &mut Report) {
    let mut owners: BTreeMap<&str, String> = BTreeMap::new();
    for a in by_key(&cx.inputs.accounts) {
        let Some(identity) = identities.get(&a.key()) else {
            continue;
        };
        if let Some(other) = owners.insert(&identity.id, a.key()) {
            report.push(
                a.error(
                    None,
                    format!("has the same account ID {} as Account {other}", identity.id),
                )
                .with_code(Code::Conflict),
            );
        }
    }
    for unknown in identities
        .system_accounts
        .values()
        .filter_map(|s| s.as_ref().err())
    {
        report.push(unknown.clone());
    }
}

/// Renders one Account (see [`super::account`]). The output is kept even when the report
/// holds an error, for the whole-graph checks; `None` when the Account has no identity, is
/// observed, or its claims cannot be built.
pub(super) fn render_account(
    cx: &Context,
    identities: &Identities,
    a: &Object<api::Account>,
    previous: Option<&LockEntry>,
    members: &Members,
) -> (Option<RenderedAccount>, Report) {
    let resolved;
    let (identity, mut report) = match identities.accounts.get(&a.key()) {
        Some((found, report)) => (found.as_ref(), report.clone()),
        // Not among the identities the caller resolved: resolve it here.
        None => {
            resolved = identity(cx, a, previous);
            (resolved.0.as_ref(), resolved.1.clone())
        }
    };
    let Some(identity) = identity else {
        return (None, report);
    };
    if !identity.managed {
        // NAuth still resolves the cluster of an observed Account.
        if let Err(d) = cluster_ref(a, cx.options) {
            report.push(d);
        }
        report.push(
            a.warning(
                Some("metadata.labels"),
                format!(
                    "observe mode ({MANAGEMENT_POLICY_LABEL}=observe): its JWT is read from \
                     NATS, not rendered"
                ),
            )
            .with_code(Code::Observed),
        );
        return (None, report);
    }
    let output = render_one(cx, identities, identity, a, previous, members, &mut report);
    (output, report)
}

/// Warns about AccountExports and AccountImports that no rendered Account adopts.
pub(super) fn unbound(cx: &Context, identities: &Identities, report: &mut Report) {
    let inputs = cx.inputs;
    unbound_of(
        &inputs.exports,
        cx,
        identities,
        |e| &e.spec.account_name,
        report,
    );
    unbound_of(
        &inputs.imports,
        cx,
        identities,
        |i| &i.spec.account_name,
        report,
    );
}

/// Warns about AccountExports or AccountImports that no rendered Account adopts: their
/// Account is not in the input, or is observed.
fn unbound_of<T: kube::Resource<DynamicType = ()>>(
    all: &[Object<T>],
    cx: &Context,
    identities: &Identities,
    account_name: impl Fn(&T) -> &String,
    report: &mut Report,
) {
    for o in all {
        let target = format!("{}/{}", o.namespace(), account_name(&o.resource));
        let (code, why) = if !cx.inputs.accounts.iter().any(|a| a.has_key(&target)) {
            let why = format!("Account {target} is not in the input; nothing is rendered for it");
            (Code::NotFound, why)
        } else if identities.get(&target).is_some_and(|i| !i.managed) {
            let why = format!("Account {target} is in observe mode; its rules are not adopted");
            (Code::Observed, why)
        } else {
            continue;
        };
        report.push(o.warning(Some("spec.accountName"), why).with_code(code));
    }
}

/// The system account of each NatsCluster whose system user creds Secret is in the input (the
/// issuer account of that user's JWT), or a warning saying why it is unknown, by NatsCluster
/// `namespace/name`.
pub(super) fn system_accounts(inputs: &Inputs) -> BTreeMap<String, Result<String, Diagnostic>> {
    let mut found = BTreeMap::new();
    for c in &inputs.clusters {
        let system_account = match keys::system_account(&inputs.secrets, c) {
            Ok(Some(id)) => Ok(id),
            Ok(None) => continue,
            Err(e) => Err(c
                .warning(
                    Some("spec.systemAccountUserCredsSecretRef"),
                    format!("{e}; its system account is unknown, so nothing stops rendering it"),
                )
                .with_code(e.code())),
        };
        found.insert(c.key(), system_account);
    }
    found
}

fn render_one(
    cx: &Context,
    identities: &Identities,
    identity: &Identity,
    a: &Object<api::Account>,
    previous: Option<&LockEntry>,
    members: &Members,
    report: &mut Report,
) -> Option<RenderedAccount> {
    let Context {
        inputs,
        keys,
        options,
        ..
    } = *cx;
    let spec = &a.resource.spec;
    let (cluster, operator) = operator_key(inputs, keys, options, a, report)
        .map_err(|d| report.push(d))
        .ok()?;
    let system_account = identities.system_accounts.get(&cluster);
    if let Some(Err(unknown)) = system_account {
        report.push(unknown.clone());
    }
    if system_account.and_then(|s| s.as_ref().ok()) == Some(&identity.id) {
        report.push(
            a.error(
                None,
                format!(
                    "account {} is the system account of NatsCluster {cluster} (the account of its \
                 system user creds): reconciling system account is not supported",
                    identity.id
                ),
            )
            .with_code(Code::SystemAccount),
        );
        return None;
    }
    let mut signing_keys = vec![SigningKeyEntry {
        key: identity.sign.public_key().to_string(),
        scope: None,
    }];
    for (i, r) in spec.signing_key_refs.iter().flatten().enumerate() {
        let field = format!("spec.signingKeyRefs[{i}]");
        match signing_key_object(inputs, r, a.namespace()) {
            // NAuth trusts only signing keys that exist and are ready, skipping the others.
            None => report.push(
                a.warning(
                    Some(&field),
                    format!(
                        "AccountSigningKey {} is not in the input; it is not trusted",
                        ref_key(r.namespace.as_deref(), &r.name, a.namespace())
                    ),
                )
                .with_code(Code::NotFound),
            ),
            Some(ask) => match keys.signing_key(ask) {
                Ok(kp) => {
                    report.record_key("AccountSigningKey", ask.key(), &kp);
                    signing_keys.push(SigningKeyEntry {
                        key: kp.public_key().to_string(),
                        scope: ask.resource.spec.scope.clone(),
                    })
                }
                Err(e) => report.push(
                    ask.error(None, &e.message)
                        .with_code(e.code())
                        .with_hint(e.hint.clone()),
                ),
            },
        }
    }

    let mut export_groups = vec![RuleGroup {
        source: None,
        rules: spec
            .exports
            .iter()
            .flatten()
            .map(claims::inline_export)
            .collect(),
    }];
    for e in children(&inputs.exports, a, |e| &e.spec.account_name) {
        export_groups.push(RuleGroup {
            source: Some(e.name().to_string()),
            rules: e
                .resource
                .spec
                .rules
                .iter()
                .map(claims::export_rule)
                .collect(),
        });
    }
    let mut inline_imports = Vec::new();
    for (i, imp) in spec.imports.iter().flatten().enumerate() {
        let r = &imp.account_ref;
        let target = ref_key(Some(&r.namespace), &r.name, a.namespace());
        let Some(exporter) = identities.get(&target) else {
            match identities.failure(&target) {
                Some(failed) => report.depends_on(failed),
                None => report.push(
                    a.error(
                        Some(&format!("spec.imports[{i}].accountRef")),
                        format!("Account {target} is not in the input (or has no keys)"),
                    )
                    .with_code(Code::NotFound),
                ),
            }
            continue;
        };
        inline_imports.push(claims::import_rule(
            &exporter.id,
            imp.name.as_deref(),
            imp.subject.as_deref().unwrap_or_default(),
            imp.import_type,
            &imp.options,
        ));
    }
    let mut import_groups = vec![RuleGroup {
        source: None,
        rules: inline_imports,
    }];
    for imp in children(&inputs.imports, a, |i| &i.spec.account_name) {
        let r = &imp.resource.spec.export_account_ref;
        let target = ref_key(Some(&r.namespace), &r.name, imp.namespace());
        let Some(exporter) = identities.get(&target) else {
            match identities.failure(&target) {
                Some(failed) => report.depends_on(failed),
                None => report.push(
                    imp.warning(
                        Some("spec.exportAccountRef"),
                        format!("Account {target} is not in the input; the import is not adopted"),
                    )
                    .with_code(Code::NotFound),
                ),
            }
            continue;
        };
        let rules = imp.resource.spec.rules.iter();
        import_groups.push(RuleGroup {
            source: Some(imp.name().to_string()),
            rules: rules
                .map(|r| {
                    claims::import_rule(
                        &exporter.id,
                        r.name.as_deref(),
                        &r.subject,
                        Some(r.import_type),
                        &r.options,
                    )
                })
                .collect(),
        });
    }

    let on_reissue = revoke_on_reissue(a).map_err(|d| report.push(d)).ok()?;
    let revocations = revocations::decide(&identity.revoked, members, on_reissue);
    let name = display_name(a, spec.display_name.as_deref());
    let issuer = operator.public_key();
    let input = AccountInput {
        account_id: &identity.id,
        issuer,
        display_name: &name,
        spec,
        signing_keys,
        exports: export_groups,
        imports: import_groups,
        revocations: &revocations,
    };
    let built = claims::account_claims(&input)
        .map_err(|e| report.push(claims_error(a, e)))
        .ok()?;
    report_adoptions(&inputs.exports, a, &built.exports, report);
    report_adoptions(&inputs.imports, a, &built.imports, report);
    let rendered = match cx.sign(built.claims, &operator, previous, None) {
        Ok((claims, claims_hash, jwt)) => RenderedAccount {
            namespace: a.namespace().to_string(),
            name: a.name().to_string(),
            jwt,
            claims,
            claims_hash,
            adoptions: Adoptions {
                exports: built.exports,
                imports: built.imports,
            },
            revocations,
            members: members.current.clone(),
        },
        Err(e) => {
            report.push(a.error(None, e).with_code(Code::InvalidSpec));
            return None;
        }
    };
    if let Some(why) = crate::output::account_config_map_oversize(&rendered) {
        report.push(a.error(None, why).with_code(Code::InvalidSpec));
        return None;
    }
    Some(rendered)
}

/// Whether the Account revokes the earlier JWTs of a re-issued user: yes unless its
/// [`REVOKE_ON_REISSUE_ANNOTATION`] says `"false"`.
fn revoke_on_reissue(a: &Object<api::Account>) -> Result<bool, Diagnostic> {
    match a.annotation(REVOKE_ON_REISSUE_ANNOTATION) {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(a
            .error(
                Some(&format!(
                    "metadata.annotations[{REVOKE_ON_REISSUE_ANNOTATION}]"
                )),
                "must be \"true\" or \"false\"",
            )
            .with_code(Code::InvalidSpec)),
    }
}

/// The NatsCluster (`namespace/name`) an Account is rendered for, by NAuth's rules: its
/// `spec.natsClusterRef` (namespace defaulting to its own), else the operator's cluster; with
/// an operator cluster that is not optional, the Account may name no other.
fn cluster_ref(a: &Object<api::Account>, options: &Options) -> Result<String, Diagnostic> {
    const FIELD: &str = "spec.natsClusterRef";
    let operator = options
        .default_cluster
        .as_ref()
        .map(|(ns, name)| format!("{ns}/{name}"));
    match (&a.resource.spec.nats_cluster_ref, operator) {
        (Some(r), operator) => {
            let own = ref_key(r.namespace.as_deref(), &r.name, a.namespace());
            match operator {
                Some(required) if !options.cluster_optional && required != own => Err(a
                    .error(
                        Some(FIELD),
                        format!(
                            "account cluster reference {own} does not match required operator \
                         cluster {required} ({}; --nats-cluster-optional allows other clusters)",
                            if options.default_cluster_from_env {
                                "NATS_CLUSTER_REF"
                            } else {
                                "--nats-cluster"
                            }
                        ),
                    )
                    .with_code(Code::ClusterMismatch)),
                _ => Ok(own),
            }
        }
        (None, Some(operator)) => Ok(operator),
        (None, None) => Err(a
            .error(
                Some(FIELD),
                "no cluster reference provided and no operator cluster configured (--nats-cluster)",
            )
            .with_code(Code::NoCluster)),
    }
}

/// The account's NatsCluster (`namespace/name`) and its operator signing key.
fn operator_key(
    inputs: &Inputs,
    keys: Keys,
    options: &Options,
    a: &Object<api::Account>,
    report: &mut Report,
) -> Result<(String, keys::Key), Diagnostic> {
    let target = cluster_ref(a, options)?;
    let cluster = inputs
        .clusters
        .iter()
        .find(|c| c.has_key(&target))
        .ok_or_else(|| {
            a.error(
                Some("spec.natsClusterRef"),
                format!("NatsCluster {target} is not in the input"),
            )
            .with_code(Code::NotFound)
        })?;
    let key = keys.operator_signing_key(cluster).map_err(|e| {
        let at = Some("spec.operatorSigningKeySecretRef");
        cluster
            .error(at, &e.message)
            .with_code(e.code())
            .with_hint(e.hint.clone())
    })?;
    report.record_key("NatsCluster", cluster.key(), &key);
    Ok((target, key))
}

/// AccountExports or AccountImports of `account`, in NAuth's adoption order: creation time,
/// then name.
fn children<'i, T: kube::Resource<DynamicType = ()>>(
    all: &'i [Object<T>],
    account: &Object<api::Account>,
    account_name: impl Fn(&T) -> &String,
) -> Vec<&'i Object<T>> {
    let mut found: Vec<_> = all
        .iter()
        .filter(|o| {
            o.namespace() == account.namespace() && account_name(&o.resource) == account.name()
        })
        .collect();
    found.sort_by(|x, y| {
        let created = |o: &Object<T>| o.resource.meta().creation_timestamp.clone().map(|t| t.0);
        created(x)
            .cmp(&created(y))
            .then_with(|| x.name().cmp(y.name()))
    });
    found
}

/// Warns about groups left out by a conflict, naming the winner; rules invalid on their own
/// are an error.
fn report_adoptions<T: kube::Resource<DynamicType = ()>>(
    all: &[Object<T>],
    account: &Object<api::Account>,
    outcomes: &[claims::GroupOutcome],
    report: &mut Report,
) {
    for outcome in outcomes {
        let Some(o) = all
            .iter()
            .find(|o| o.namespace() == account.namespace() && o.name() == outcome.source)
        else {
            continue;
        };
        match &outcome.adoption {
            Adoption::Adopted => {}
            Adoption::Conflict { winner, message } => {
                let winner = match winner {
                    Some(w) => format!("{} {w}", T::kind(&())),
                    None => "the Account's inline rules".to_string(),
                };
                report.push(o.warning(
                    Some("spec.rules"),
                    format!(
                        "not adopted by Account {} (Conflict with {winner}, adopted first): {message}",
                        account.key()
                    ),
                ).with_code(Code::Conflict));
            }
            Adoption::Invalid { message } => {
                let d = o.error(Some("spec.rules"), format!("invalid: {message}"));
                report.push(d.with_code(Code::InvalidSpec));
            }
        }
    }
}
