//! Whole-graph check NAuth leaves out (its #43): an import should match an export of the
//! account it names, of the same type, with the imported subject inside the exported one.
//! NATS accepts an import nothing matches and keeps it inactive until the export exists (NAuth
//! relies on that: its scenarios import from accounts that export nothing), so this warns.
//! A controller reconciling one object cannot see this; the renderer sees the whole tree.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Code;
use crate::input::{Inputs, Object};
use crate::{api, jwt};

use super::{Identities, RenderedAccount, Report, ref_key};

/// Warns about adopted imports that no export of their (rendered) exporter carries.
pub(super) fn check(
    inputs: &Inputs,
    identities: &Identities,
    accounts: &[RenderedAccount],
    report: &mut Report,
) {
    let exports: BTreeMap<&str, &[jwt::Export]> = accounts
        .iter()
        .map(|a| (a.claims.data.sub.as_str(), a.claims.nats.exports.as_slice()))
        .collect();
    // AccountImports left out of their account were reported with their adoption.
    let adopted: BTreeSet<(&str, &str)> = accounts
        .iter()
        .flat_map(|a| {
            (a.adoptions.imports.iter())
                .filter(|o| o.adoption == crate::claims::Adoption::Adopted)
                .map(|o| (a.namespace.as_str(), o.source.as_str()))
        })
        .collect();
    // Unknown exporters were reported already; observed ones are not rendered here.
    let offered_by = |target: &str| {
        let id = identities.get(target)?;
        exports.get(id.id.as_str()).copied()
    };
    for a in &inputs.accounts {
        for (i, imp) in a.resource.spec.imports.iter().flatten().enumerate() {
            let r = &imp.account_ref;
            let target = ref_key(Some(&r.namespace), &r.name, a.namespace());
            if let Some(offered) = offered_by(&target) {
                let subject = imp.subject.as_deref().unwrap_or_default();
                let field = format!("spec.imports[{i}]");
                check_one(
                    a,
                    &field,
                    &target,
                    offered,
                    imp.import_type,
                    subject,
                    report,
                );
            }
        }
    }
    for imp in &inputs.imports {
        if !adopted.contains(&(imp.namespace(), imp.name())) {
            continue;
        }
        let r = &imp.resource.spec.export_account_ref;
        let target = ref_key(Some(&r.namespace), &r.name, imp.namespace());
        let Some(offered) = offered_by(&target) else {
            continue;
        };
        for (i, rule) in imp.resource.spec.rules.iter().enumerate() {
            let field = format!("spec.rules[{i}]");
            let kind = Some(rule.import_type);
            check_one(imp, &field, &target, offered, kind, &rule.subject, report);
        }
    }
}

/// Checks one import rule of `importer` against what `target` exports.
fn check_one<T: kube::Resource<DynamicType = ()>>(
    importer: &Object<T>,
    field: &str,
    target: &str,
    offered: &[jwt::Export],
    kind: Option<api::ExportType>,
    subject: &str,
    report: &mut Report,
) {
    let wanted = match kind {
        Some(api::ExportType::Stream) => jwt::ExportType::Stream,
        Some(api::ExportType::Service) => jwt::ExportType::Service,
        None => return,
    };
    let matching = offered
        .iter()
        .find(|e| e.export_type == wanted && jwt::subject::contains(&e.subject, subject));
    match matching {
        None => report.push(importer.warning(
            Some(field),
            format!(
                "Account {target} exports no {wanted} matching subject {subject:?}; NATS keeps \
                 the import inactive until it does"
            ),
        ).with_code(Code::UnmatchedImport)),
        Some(e) if e.token_req => report.push(importer.warning(
            Some(field),
            format!(
                "the {wanted} export {:?} of Account {target} requires an activation token, \
                 which nauth-rs does not issue; NATS will refuse this import",
                e.subject
            ),
        ).with_code(Code::TokenRequired)),
        Some(_) => {}
    }
}
