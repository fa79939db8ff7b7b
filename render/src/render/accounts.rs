//! Account identities, then account JWTs with their adopted export and import groups.

use std::collections::BTreeMap;

use crate::claims::{self, AccountInput, RuleGroup, SigningKeyEntry};
use crate::input::{Inputs, Object};
use crate::jwt;
use crate::keys::{KEY_GENERATION_ANNOTATION, Keys};
use crate::{api, diagnostic::Diagnostic};

use super::{
    ACCOUNT_ID_LABEL, Context, Identities, Identity, Options, RenderedAccount, Report, by_key,
    claims_error, display_name, observed, ref_key, signing_key_object,
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
                let id = k.root.public_key();
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
    let mut rendered = Vec::new();
    let mut exports = BTreeMap::new();
    for a in by_key(&cx.inputs.accounts) {
        report.step(cx);
        let Some(identity) = identities.get(&a.key()).filter(|i| i.managed) else {
            continue;
        };
        if let Some(r) = render_one(cx, identities, identity, a, report) {
            exports.insert(identity.id.clone(), r.claims.nats.exports.clone());
            rendered.push(r);
        }
    }
    (rendered, exports)
}

fn render_one(
    cx: &Context,
    identities: &Identities,
    identity: &Identity,
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
    let operator = operator_key(inputs, keys, options, a, report)
        .map_err(|d| report.push(d))
        .ok()?;
    let mut signing_keys = vec![SigningKeyEntry {
        key: identity.sign.public_key(),
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
                        key: kp.public_key(),
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
            report.push(a.error(
                Some(&format!("spec.imports[{i}].accountRef")),
                format!("Account {target} is not in the input (or has no keys)"),
            ));
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
            report.push(imp.error(
                Some("spec.exportAccountRef"),
                format!("Account {target} is not in the input (or has no keys)"),
            ));
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
        issuer: &issuer,
        display_name: &name,
        spec,
        signing_keys,
        exports: export_groups,
        imports: import_groups,
    };
    let built = claims::account_claims(&input)
        .map_err(|e| report.push(claims_error(a, e)))
        .ok()?;
    report_conflicts(&inputs.exports, a, &built.exports, report);
    report_conflicts(&inputs.imports, a, &built.imports, report);
    let previous = lock.accounts.get(&a.key());
    match cx.sign(built.claims, &operator, previous, None) {
        Ok((claims, claims_hash, jwt)) => Some(RenderedAccount {
            namespace: a.namespace().to_string(),
            name: a.name().to_string(),
            jwt,
            claims,
            claims_hash,
        }),
        Err(e) => {
            report.push(a.error(None, e));
            None
        }
    }
}

/// The operator signing key of the account's NatsCluster.
fn operator_key(
    inputs: &Inputs,
    keys: Keys,
    options: &Options,
    a: &Object<api::Account>,
    report: &mut Report,
) -> Result<nkeys::KeyPair, Diagnostic> {
    const FIELD: &str = "spec.natsClusterRef";
    let target = match (&a.resource.spec.nats_cluster_ref, &options.default_cluster) {
        (Some(r), _) => ref_key(r.namespace.as_deref(), &r.name, a.namespace()),
        (None, Some((ns, name))) => format!("{ns}/{name}"),
        (None, None) => {
            return Err(a.error(
                Some(FIELD),
                "no cluster reference provided and no operator cluster configured (--nats-cluster)",
            ));
        }
    };
    let cluster = inputs
        .clusters
        .iter()
        .find(|c| c.has_key(&target))
        .ok_or_else(|| {
            a.error(
                Some(FIELD),
                format!("NatsCluster {target} is not in the input"),
            )
        })?;
    let key = keys
        .operator_signing_key(cluster)
        .map_err(|e| cluster.error(Some("spec.operatorSigningKeySecretRef"), e))?;
    report.record_key("NatsCluster", cluster.key(), &key);
    Ok(key)
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

fn report_conflicts<T: kube::Resource<DynamicType = ()>>(
    all: &[Object<T>],
    account: &Object<api::Account>,
    outcomes: &[claims::GroupOutcome],
    report: &mut Report,
) {
    for outcome in outcomes {
        let Some(conflict) = &outcome.conflict else {
            continue;
        };
        if let Some(o) = all
            .iter()
            .find(|o| o.namespace() == account.namespace() && o.name() == outcome.source)
        {
            report.push(o.warning(
                Some("spec.rules"),
                format!(
                    "not adopted by Account {} (Conflict): {conflict}",
                    account.key()
                ),
            ));
        }
    }
}
