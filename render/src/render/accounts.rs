//! Account identities, then account JWTs with their adopted export and import groups.

use std::collections::BTreeMap;

use crate::claims::{self, AccountInput, Adoption, RuleGroup, SigningKeyEntry};
use crate::input::{Inputs, Object};
use crate::jwt;
use crate::keys::{self, KEY_GENERATION_ANNOTATION, Keys};
use crate::{api, diagnostic::Diagnostic};

use super::{
    ACCOUNT_ID_LABEL, Adoptions, Context, Identities, Identity, MANAGEMENT_POLICY_LABEL, Options,
    RenderedAccount, Report, by_key, claims_error, display_name, identity_failed, observed,
    ref_key, signing_key_object,
};

/// Resolves every Account's keys first, so imports and users can name any account's ID.
pub(super) fn identities(cx: &Context, report: &mut Report) -> Identities {
    let Context {
        inputs, keys, lock, ..
    } = *cx;
    let mut identities = Identities::new();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    for a in by_key(&inputs.accounts) {
        let label = a.label(ACCOUNT_ID_LABEL);
        if observed(a) && label.is_none() {
            report.push(a.error(
                Some("metadata.labels"),
                format!("observe mode needs the {ACCOUNT_ID_LABEL} label: the account is read from NATS by its ID"),
            ));
            continue;
        }
        let locked = lock.accounts.get(&a.key()).map(|e| e.public_key.as_str());
        match keys.account(a, label.or(locked)) {
            Ok(k) => {
                report.record_key("Account", a.key(), &k.sign);
                let id = k.root.public_key().to_string();
                if let Some(old) = &k.rotated_from {
                    report.push(a.warning(
                        Some(&format!(
                            "metadata.annotations[{KEY_GENERATION_ANNOTATION}]"
                        )),
                        format!(
                            "rotates the account key: account ID {old} becomes {id}; its users \
                             and the imports of it are re-issued, and NATS keeps the old account \
                             until it is deleted from the resolver"
                        ),
                    ));
                }
                if let Some(other) = owners.insert(id.clone(), a.key()) {
                    report.push(a.error(
                        None,
                        format!("has the same account ID {id} as Account {other}"),
                    ));
                }
                identities.insert(
                    a.key(),
                    Identity {
                        id,
                        sign: k.sign,
                        managed: !observed(a),
                    },
                );
            }
            Err(e) => report.push(a.error(None, e)),
        }
    }
    identities
}

/// Renders every managed Account. Also returns each rendered account's exports by account ID,
/// for checking imports against them.
pub(super) fn render(
    cx: &Context,
    identities: &Identities,
    report: &mut Report,
) -> (Vec<RenderedAccount>, BTreeMap<String, Vec<jwt::Export>>) {
    let system_accounts = system_accounts(cx.inputs, report);
    let mut rendered = Vec::new();
    let mut exports = BTreeMap::new();
    for a in by_key(&cx.inputs.accounts) {
        report.step(cx);
        let Some(identity) = identities.get(&a.key()) else {
            continue;
        };
        if !identity.managed {
            // NAuth still resolves the cluster of an observed Account.
            if let Err(d) = cluster_ref(a, cx.options) {
                report.push(d);
            }
            report.push(a.warning(
                Some("metadata.labels"),
                format!(
                    "observe mode ({MANAGEMENT_POLICY_LABEL}=observe): its JWT is read from \
                     NATS, not rendered"
                ),
            ));
            continue;
        }
        if let Some(r) = render_one(cx, identities, identity, &system_accounts, a, report) {
            exports.insert(identity.id.clone(), r.claims.nats.exports.clone());
            rendered.push(r);
        }
    }
    unbound(
        &cx.inputs.exports,
        cx,
        identities,
        |e| &e.spec.account_name,
        report,
    );
    unbound(
        &cx.inputs.imports,
        cx,
        identities,
        |i| &i.spec.account_name,
        report,
    );
    (rendered, exports)
}

/// Warns about AccountExports and AccountImports that no rendered Account adopts: their
/// Account is not in the input, or is observed.
fn unbound<T: kube::Resource<DynamicType = ()>>(
    all: &[Object<T>],
    cx: &Context,
    identities: &Identities,
    account_name: impl Fn(&T) -> &String,
    report: &mut Report,
) {
    for o in all {
        let target = format!("{}/{}", o.namespace(), account_name(&o.resource));
        let why = if !cx.inputs.accounts.iter().any(|a| a.has_key(&target)) {
            format!("Account {target} is not in the input; nothing is rendered for it")
        } else if identities.get(&target).is_some_and(|i| !i.managed) {
            format!("Account {target} is in observe mode; its rules are not adopted")
        } else {
            continue;
        };
        report.push(o.warning(Some("spec.accountName"), why));
    }
}

/// The system account of each NatsCluster whose system user creds Secret is in the input: the
/// issuer account of that user's JWT, by NatsCluster `namespace/name`.
fn system_accounts(inputs: &Inputs, report: &mut Report) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for c in &inputs.clusters {
        match keys::system_account(&inputs.secrets, c) {
            Ok(Some(id)) => {
                found.insert(c.key(), id);
            }
            Ok(None) => {}
            Err(e) => report.push(c.warning(
                Some("spec.systemAccountUserCredsSecretRef"),
                format!("{e}; its system account is unknown, so nothing stops rendering it"),
            )),
        }
    }
    found
}

fn render_one(
    cx: &Context,
    identities: &Identities,
    identity: &Identity,
    system_accounts: &BTreeMap<String, String>,
    a: &Object<api::Account>,
    report: &mut Report,
) -> Option<RenderedAccount> {
    let Context {
        inputs,
        keys,
        lock,
        options,
        ..
    } = *cx;
    let spec = &a.resource.spec;
    let (cluster, operator) = operator_key(inputs, keys, options, a, report)
        .map_err(|d| report.push(d))
        .ok()?;
    if system_accounts.get(&cluster) == Some(&identity.id) {
        report.push(a.error(
            None,
            format!(
                "account {} is the system account of NatsCluster {cluster} (the account of its \
                 system user creds): reconciling system account is not supported",
                identity.id
            ),
        ));
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
            None => report.push(a.warning(
                Some(&field),
                format!(
                    "AccountSigningKey {} is not in the input; it is not trusted",
                    ref_key(r.namespace.as_deref(), &r.name, a.namespace())
                ),
            )),
            Some(ask) => match keys.signing_key(ask) {
                Ok(kp) => {
                    report.record_key("AccountSigningKey", ask.key(), &kp);
                    signing_keys.push(SigningKeyEntry {
                        key: kp.public_key().to_string(),
                        scope: ask.resource.spec.scope.clone(),
                    })
                }
                Err(e) => report.push(ask.error(None, e)),
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
            if !identity_failed(cx.inputs, identities, &target) {
                report.push(a.error(
                    Some(&format!("spec.imports[{i}].accountRef")),
                    format!("Account {target} is not in the input (or has no keys)"),
                ));
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
            // An exporter in the input without keys is reported with it.
            if !inputs.accounts.iter().any(|a| a.has_key(&target)) {
                report.push(imp.warning(
                    Some("spec.exportAccountRef"),
                    format!("Account {target} is not in the input; the import is not adopted"),
                ));
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
    };
    let built = claims::account_claims(&input)
        .map_err(|e| report.push(claims_error(a, e)))
        .ok()?;
    report_adoptions(&inputs.exports, a, &built.exports, report);
    report_adoptions(&inputs.imports, a, &built.imports, report);
    let previous = lock.accounts.get(&a.key());
    match cx.sign(built.claims, &operator, previous, None) {
        Ok((claims, claims_hash, jwt)) => Some(RenderedAccount {
            namespace: a.namespace().to_string(),
            name: a.name().to_string(),
            jwt,
            claims,
            claims_hash,
            adoptions: Adoptions {
                exports: built.exports,
                imports: built.imports,
            },
        }),
        Err(e) => {
            report.push(a.error(None, e));
            None
        }
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
                Some(required) if !options.cluster_optional && required != own => Err(a.error(
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
                )),
                _ => Ok(own),
            }
        }
        (None, Some(operator)) => Ok(operator),
        (None, None) => Err(a.error(
            Some(FIELD),
            "no cluster reference provided and no operator cluster configured (--nats-cluster)",
        )),
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
        })?;
    let key = keys
        .operator_signing_key(cluster)
        .map_err(|e| cluster.error(Some("spec.operatorSigningKeySecretRef"), e))?;
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
                ));
            }
            Adoption::Invalid { message } => {
                report.push(o.error(Some("spec.rules"), format!("invalid: {message}")));
            }
        }
    }
}
