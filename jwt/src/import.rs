//! Services and streams an account takes from other accounts.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::codec::{AnyClaims, decode};
use super::export::ExportType;
use super::json::{go_quote, is_false};
use super::subject::{go_is_contained_in, validate_subject};
use super::validation::ValidationResults;

/// Go's `Import`, fields in Go order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Import {
    /// Display name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Subject as the exporter sees it (streams) or as the importer publishes it (services).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Exporting account public key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    /// Activation token when the export requires one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// Deprecated rename target; use `local_subject`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// Local name of the subject; may reference wildcards of `subject` as `$1`, `$2`, ….
    #[serde(skip_serializing_if = "String::is_empty")]
    pub local_subject: String,
    /// Stream or service.
    #[serde(rename = "type", skip_serializing_if = "ExportType::is_unknown")]
    pub import_type: ExportType,
    /// Services only: share the importer's identity for latency tracking.
    #[serde(skip_serializing_if = "is_false")]
    pub share: bool,
    /// Streams only: forward message traces.
    #[serde(skip_serializing_if = "is_false")]
    pub allow_trace: bool,
}

/// Go's `Imports`; encoding sorts it by subject with a stable sort.
pub type Imports = Vec<Import>;

impl Import {
    /// Go's `Import.Validate`; `account_key` is the importing account's subject, which an
    /// activation token must name.
    pub fn validate(&self, account_key: &str, vr: &mut ValidationResults) {
        let service = self.import_type == ExportType::Service;
        if !service && self.import_type != ExportType::Stream {
            vr.add_error(format!(
                "invalid import type: {}",
                go_quote(&self.import_type.to_string())
            ));
        }
        if service && self.allow_trace {
            vr.add_error("AllowTrace only valid for stream import");
        }
        if self.account.is_empty() {
            vr.add_error("account to import from is not specified");
        }
        if !self.to.is_empty() {
            vr.add_warning("the field to has been deprecated (use LocalSubject instead)");
        }
        validate_subject(&self.subject, vr);
        if !self.local_subject.is_empty() {
            validate_renaming(&self.local_subject, &self.subject, vr);
            if !self.to.is_empty() {
                vr.add_error("Local Subject replaces To");
            }
        }
        let q = go_quote(&self.subject);
        if self.share && !service {
            vr.add_error(format!(
                "sharing information (for latency tracking) is only valid for services: {q}"
            ));
        }
        if !self.token.is_empty() {
            self.validate_token(account_key, vr);
        }
    }

    fn validate_token(&self, account_key: &str, vr: &mut ValidationResults) {
        let q = go_quote(&self.subject);
        let act = match decode(&self.token).map(|d| d.claims) {
            Ok(AnyClaims::Activation(act)) => act,
            _ => {
                vr.add_error(format!("import {q} contains an invalid activation token"));
                return;
            }
        };
        if act.data.iss != self.account && act.nats.issuer_account != self.account {
            vr.add_error(format!(
                "activation token doesn't match account for import {q}"
            ));
        }
        if act.data.sub != account_key {
            vr.add_error(format!(
                "activation token doesn't match account it is being included in, {q}"
            ));
        }
        if act.nats.kind != self.import_type {
            vr.add_error(format!(
                "mismatch between token import type {} and type of import {}",
                act.nats.kind, self.import_type
            ));
        }
        act.nats.validate(vr);
        let subject = if self.import_type == ExportType::Service && !self.to.is_empty() {
            &self.to
        } else {
            &self.subject
        };
        if !go_is_contained_in(subject, &act.nats.subject) {
            vr.add_error(format!(
                "activation token import subject {} doesn't match import {q}",
                go_quote(&act.nats.subject)
            ));
        }
    }

    /// The local subject a service import occupies: `to`, else `local_subject` with `$n`
    /// references turned into `*`, else `subject`.
    fn local_service_subject(&self) -> String {
        if !self.to.is_empty() {
            return self.to.clone();
        }
        if self.local_subject.is_empty() {
            return self.subject.clone();
        }
        self.local_subject
            .split('.')
            .map(|tk| {
                if wildcard_reference(tk).is_some() {
                    "*"
                } else {
                    tk
                }
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// `$<n>` → n.
fn wildcard_reference(token: &str) -> Option<usize> {
    token
        .strip_prefix('$')
        .filter(|n| !n.is_empty())?
        .parse()
        .ok()
}

/// Go's `RenamingSubject.Validate`.
fn validate_renaming(local: &str, from: &str, vr: &mut ValidationResults) {
    validate_subject(local, vr);
    if from.is_empty() {
        vr.add_error("subject cannot be empty");
    }
    if local.contains(' ') {
        vr.add_error(format!("subject {} cannot have spaces", go_quote(local)));
    }
    let ends_fwc = |s: &str| s == ">" || s.ends_with(".>");
    if ends_fwc(local) != ends_fwc(from) {
        vr.add_error("both, renaming subject and subject, need to end or not end in >");
    }
    let from_wildcards = from.split('.').filter(|t| *t == "*").count();
    let mut refs = 0;
    for tk in local.split('.') {
        if tk == "*" {
            refs += 1;
        }
        match wildcard_reference(tk) {
            Some(idx) if idx > from_wildcards => vr.add_error(format!(
                "Reference ${idx} in {} reference * in {} that do not exist",
                go_quote(local),
                go_quote(from)
            )),
            Some(_) => refs += 1,
            None => {}
        }
    }
    if refs != from_wildcards {
        vr.add_error("subject does not contain enough * or reference wildcards $[0-9]");
    }
}

/// Go's `Imports.Validate`: overlapping service imports from the same account, then each import.
pub fn validate_imports(imports: &[Import], account_key: &str, vr: &mut ValidationResults) {
    let mut by_account: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for import in imports {
        if import.import_type == ExportType::Service {
            let sub = import.local_service_subject();
            let seen = by_account.entry(&import.account).or_default();
            let acc = go_quote(&import.account);
            for other in seen.iter() {
                if go_is_contained_in(&sub, other) || go_is_contained_in(other, &sub) {
                    vr.add_error(format!(
                        "overlapping subject namespace for {} and {} in same account {acc}",
                        go_quote(&sub),
                        go_quote(other)
                    ));
                }
            }
            if seen.contains(&sub) {
                vr.add_error(format!(
                    "overlapping subject namespace for {} in account {acc}",
                    go_quote(&sub)
                ));
            } else {
                seen.push(sub);
            }
        }
        import.validate(account_key, vr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(vr: &ValidationResults) -> Vec<&str> {
        vr.issues.iter().map(|i| i.description.as_str()).collect()
    }

    fn service(subject: &str, account: &str) -> Import {
        Import {
            subject: subject.into(),
            account: account.into(),
            import_type: ExportType::Service,
            ..Default::default()
        }
    }

    #[test]
    fn overlapping_service_imports_from_one_account() {
        let imports = vec![
            service("a.>", "A1"),
            service("a.b", "A1"),
            service("a.b", "A2"),
        ];
        let mut vr = ValidationResults::default();
        validate_imports(&imports, "ME", &mut vr);
        assert_eq!(
            messages(&vr),
            vec![r#"overlapping subject namespace for "a.b" and "a.>" in same account "A1""#]
        );
    }

    #[test]
    fn renaming_rules_match_go() {
        let mut i = service("t.*", "A");
        i.import_type = ExportType::Stream;
        i.local_subject = "l.$2".into();
        i.share = true;
        i.allow_trace = true;
        let mut vr = ValidationResults::default();
        i.validate("ME", &mut vr);
        assert_eq!(
            messages(&vr),
            vec![
                r#"Reference $2 in "l.$2" reference * in "t.*" that do not exist"#,
                "subject does not contain enough * or reference wildcards $[0-9]",
                r#"sharing information (for latency tracking) is only valid for services: "t.*""#,
            ]
        );
        assert_eq!(
            Import {
                local_subject: "x.$1.y".into(),
                ..service("a.*.y", "A")
            }
            .local_service_subject(),
            "x.*.y"
        );
    }

    #[test]
    fn garbage_activation_token_is_reported() {
        let mut i = service("a", "A");
        i.token = "not.a.token".into();
        let mut vr = ValidationResults::default();
        i.validate("ME", &mut vr);
        assert_eq!(
            messages(&vr),
            vec![r#"import "a" contains an invalid activation token"#]
        );
    }
}
