//! Status built from rendered (or looked-up) claims: NAuth's readable `status.claims` of an
//! Account and its `status.adoptions`, so the controller writes what render decided and nothing
//! of its own.

use crate::api::{self, AccountAdoption, AdoptionState, AdoptionStatus};
use crate::claims::{self, Adoption, GroupOutcome};
use crate::jwt;

/// NAuth's `status.claims` of an Account from its JWT claims (a rendered JWT, or one read from
/// NATS in observe mode): limits, JetStream, signing keys sorted by key, exports and imports
/// sorted by subject.
pub fn account_claims(claims: &jwt::Claims<jwt::Account>) -> api::AccountClaims {
    let nats = &claims.nats;
    let limits = &nats.limits;
    let js = &limits.jetstream;
    let jet_stream_enabled =
        *js != jwt::JetStreamLimits::default() || !limits.tiered_limits.is_empty();
    let mut exports: Vec<api::Export> = nats.exports.iter().map(export).collect();
    exports.sort_by(|a, b| a.subject.cmp(&b.subject));
    let mut imports: Vec<api::Import> = nats.imports.iter().map(import).collect();
    imports.sort_by(|a, b| a.subject.cmp(&b.subject));
    let signing_keys = nats
        .signing_keys
        .0
        .keys()
        .map(|key| api::SigningKeyClaim {
            key: Some(key.clone()),
        })
        .collect();
    api::AccountClaims {
        display_name: Some(claims.data.name.clone()).filter(|n| !n.is_empty()),
        account_limits: Some(api::AccountLimits {
            imports: Some(limits.account.imports),
            exports: Some(limits.account.exports),
            wildcards: Some(limits.account.wildcard_exports),
            conn: Some(limits.account.conn),
            leaf: Some(limits.account.leaf_node_conn),
            disallow_bearer: Some(limits.account.disallow_bearer).filter(|b| *b),
        }),
        jet_stream_enabled: Some(jet_stream_enabled),
        jet_stream_limits: Some(api::JetStreamLimits {
            mem_storage: Some(js.mem_storage),
            disk_storage: Some(js.disk_storage),
            streams: Some(js.streams),
            consumer: Some(js.consumer),
            max_ack_pending: Some(js.max_ack_pending),
            mem_max_stream_bytes: Some(js.mem_max_stream_bytes),
            disk_max_stream_bytes: Some(js.disk_max_stream_bytes),
            max_bytes_required: Some(js.max_bytes_required),
        }),
        nats_limits: Some(api::NatsLimits {
            subs: Some(limits.nats.subs),
            data: Some(limits.nats.data),
            payload: Some(limits.nats.payload),
        }),
        signing_keys: Some(signing_keys),
        exports: Some(exports).filter(|e| !e.is_empty()),
        imports: Some(imports).filter(|i| !i.is_empty()),
    }
}

fn export_type(t: jwt::ExportType) -> Option<api::ExportType> {
    match t {
        jwt::ExportType::Stream => Some(api::ExportType::Stream),
        jwt::ExportType::Service => Some(api::ExportType::Service),
        jwt::ExportType::Unknown => None,
    }
}

fn export(e: &jwt::Export) -> api::Export {
    let response_type = match e.response_type {
        jwt::ResponseType::Singleton => Some(api::ResponseType::Singleton),
        jwt::ResponseType::Stream => Some(api::ResponseType::Stream),
        jwt::ResponseType::Chunked => Some(api::ResponseType::Chunked),
        jwt::ResponseType::Unset | jwt::ResponseType::Other(_) => None,
    };
    api::Export {
        name: Some(e.name.clone()).filter(|n| !n.is_empty()),
        subject: Some(e.subject.clone()),
        export_type: export_type(e.export_type),
        token_req: Some(e.token_req).filter(|t| *t),
        revocations: Some(e.revocations.clone()).filter(|r| !r.is_empty()),
        options: api::ExportOptions {
            response_type,
            response_threshold: Some(e.response_threshold).filter(|t| *t != 0),
            service_latency: e.service_latency.as_ref().map(|l| api::ServiceLatency {
                sampling: l.sampling,
                results: l.results.clone(),
            }),
            account_token_position: Some(u64::from(e.account_token_position)).filter(|p| *p != 0),
            advertise: Some(e.advertise).filter(|a| *a),
            allow_trace: Some(e.allow_trace).filter(|a| *a),
        },
    }
}

fn import(i: &jwt::Import) -> api::Import {
    api::Import {
        account_ref: api::AccountRef::default(),
        name: Some(i.name.clone()).filter(|n| !n.is_empty()),
        subject: Some(i.subject.clone()),
        account: Some(i.account.clone()),
        import_type: export_type(i.import_type),
        options: api::ImportOptions {
            local_subject: Some(i.local_subject.clone()).filter(|s| !s.is_empty()),
            share: Some(i.share).filter(|s| *s),
            allow_trace: Some(i.allow_trace).filter(|a| *a),
        },
    }
}

/// Why an AccountExport's rules break NATS's export rules, as NAuth checks them before
/// publishing them as the desired claim; `None` when they are valid.
pub fn export_rules_problem(rules: &[api::AccountExportRule]) -> Option<String> {
    let exports: Vec<jwt::Export> = rules.iter().map(claims::export_rule).collect();
    let mut vr = jwt::ValidationResults::default();
    jwt::validate_exports(&exports, &mut vr);
    blocking(&vr)
}

/// An AccountImport's rules with the exporter's ID resolved (NAuth's derived rules:
/// `share`/`allowTrace` materialised), or why they break NATS's import rules for the importing
/// account `account_id`.
pub fn import_rules(
    account_id: &str,
    exporter_id: &str,
    rules: &[api::AccountImportRule],
) -> Result<Vec<api::AccountImportRuleDerived>, String> {
    let imports: Vec<jwt::Import> = rules
        .iter()
        .map(|r| {
            claims::import_rule(
                exporter_id,
                r.name.as_deref(),
                &r.subject,
                Some(r.import_type),
                &r.options,
            )
        })
        .collect();
    let mut vr = jwt::ValidationResults::default();
    jwt::validate_imports(&imports, account_id, &mut vr);
    if let Some(problem) = blocking(&vr) {
        return Err(format!("rules validation failed: {problem}"));
    }
    Ok(rules
        .iter()
        .map(|r| {
            let mut rule = r.clone();
            rule.options.share = Some(r.options.share.unwrap_or_default());
            rule.options.allow_trace = Some(r.options.allow_trace.unwrap_or_default());
            api::AccountImportRuleDerived {
                account: exporter_id.to_string(),
                rule,
            }
        })
        .collect())
}

fn blocking(vr: &jwt::ValidationResults) -> Option<String> {
    vr.is_blocking(false).then(|| vr.errors().join("; "))
}

/// A bound AccountExport or AccountImport as the adoption sees it.
#[derive(Clone, Debug)]
pub struct Child<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its UID.
    pub uid: &'a str,
    /// Its `metadata.generation`.
    pub generation: i64,
    /// The generation of its `status.desiredClaim`, when it has one.
    pub desired_generation: Option<i64>,
}

/// NAuth's `status.adoptions` entries of one kind: one per bound child, in `children`'s order.
/// A child with an outcome gets `True/OK` when adopted, else `False/Conflict` with the
/// validation message; a child without a desired claim is `False/NOK`, pending.
pub fn adoptions(children: &[Child], outcomes: &[GroupOutcome]) -> Vec<AccountAdoption> {
    children
        .iter()
        .map(|c| {
            let outcome = outcomes.iter().find(|o| o.source == c.name);
            let (status, reason, message) = match (c.desired_generation, outcome) {
                (None, _) => (
                    AdoptionState::False,
                    "NOK",
                    "Adoption pending: no desired claim".to_string(),
                ),
                (Some(_), Some(o)) => match &o.adoption {
                    Adoption::Adopted => (AdoptionState::True, "OK", "Adopted".to_string()),
                    Adoption::Conflict { message, .. } | Adoption::Invalid { message } => {
                        (AdoptionState::False, "Conflict", message.clone())
                    }
                },
                (Some(_), None) => (
                    AdoptionState::False,
                    "NOK",
                    "WARN: No adoption result reported".to_string(),
                ),
            };
            AccountAdoption {
                name: c.name.to_string(),
                uid: c.uid.to_string(),
                observed_generation: c.generation,
                status: AdoptionStatus {
                    status,
                    desired_claim_observed_generation: c.desired_generation,
                    reason: reason.to_string(),
                    message: Some(message),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_claims_mirror_the_jwt_sorted_and_with_jetstream_derived() {
        let mut body = jwt::Account::new();
        body.limits.jetstream.streams = 5;
        for subject in ["b.>", "a.>"] {
            body.exports.push(jwt::Export {
                subject: subject.into(),
                export_type: jwt::ExportType::Stream,
                ..Default::default()
            });
        }
        body.signing_keys.add("AKEY");
        let mut claims = jwt::Claims::new("AID", body);
        claims.data.name = "ns/a".into();
        let status = account_claims(&claims);
        assert_eq!(status.display_name.as_deref(), Some("ns/a"));
        assert_eq!(status.jet_stream_enabled, Some(true));
        let subjects: Vec<_> = (status.exports.iter().flatten())
            .map(|e| e.subject.clone().unwrap())
            .collect();
        assert_eq!(subjects, ["a.>", "b.>"]);
        assert_eq!(status.imports, None);
        assert_eq!(status.nats_limits.unwrap().subs, Some(-1));
        assert_eq!(status.signing_keys.unwrap()[0].key.as_deref(), Some("AKEY"));
    }

    #[test]
    fn export_and_import_rules_are_checked_as_nats_checks_them() {
        let export = |subject: &str| api::AccountExportRule {
            name: None,
            subject: subject.into(),
            export_type: api::ExportType::Stream,
            options: Default::default(),
        };
        assert_eq!(export_rules_problem(&[export("a.>")]), None);
        assert!(export_rules_problem(&[export("a b")]).is_some());
        let account = nkeys::KeyPair::new_from_raw(nkeys::KeyPairType::Account, [1; 32]).unwrap();
        let exporter = nkeys::KeyPair::new_from_raw(nkeys::KeyPairType::Account, [2; 32]).unwrap();
        let rule = api::AccountImportRule {
            name: None,
            subject: "a.>".into(),
            import_type: api::ExportType::Service,
            options: Default::default(),
        };
        let derived = import_rules(
            &account.public_key(),
            &exporter.public_key(),
            std::slice::from_ref(&rule),
        );
        let derived = derived.unwrap();
        assert_eq!(derived[0].account, exporter.public_key());
        assert_eq!(derived[0].rule.options.share, Some(false));
        let twice = import_rules(
            &account.public_key(),
            &exporter.public_key(),
            &[rule.clone(), rule],
        );
        assert!(twice.unwrap_err().starts_with("rules validation failed"));
    }

    #[test]
    fn adoptions_say_adopted_conflict_or_pending_per_child() {
        let child = |name, desired| Child {
            name,
            uid: "u",
            generation: 2,
            desired_generation: desired,
        };
        let outcomes = [
            GroupOutcome {
                source: "a".into(),
                adoption: Adoption::Adopted,
            },
            GroupOutcome {
                source: "b".into(),
                adoption: Adoption::Conflict {
                    winner: Some("a".into()),
                    message: "overlap".into(),
                },
            },
        ];
        let got = adoptions(
            &[child("a", Some(2)), child("b", Some(1)), child("c", None)],
            &outcomes,
        );
        let summary: Vec<_> = got
            .iter()
            .map(|a| (a.status.status, a.status.reason.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (AdoptionState::True, "OK"),
                (AdoptionState::False, "Conflict"),
                (AdoptionState::False, "NOK")
            ]
        );
        assert_eq!(got[1].status.desired_claim_observed_generation, Some(1));
    }
}
