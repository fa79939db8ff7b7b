//! NAuth's adoption of export and import groups into one account (its ADR-5 rules).
//!
//! The inline rules of the Account form the first group; every bound AccountExport or
//! AccountImport forms one more, in creation-time-then-name order (the caller sorts). A group is
//! all or nothing: it is checked on its own and merged with what was accepted before; if either
//! check fails, none of its rules are taken. Rules identical to one already accepted merge
//! silently. The first group to claim a subject wins.

use crate::jwt::ValidationResults;

use super::{ClaimsError, blocking_errors};

/// The rules of one group, and where they come from.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleGroup<T> {
    /// `None` for the Account's inline rules, else the name of the AccountExport or
    /// AccountImport object.
    pub source: Option<String>,
    /// The rules, in the object's order.
    pub rules: Vec<T>,
}

/// Whether a non-inline group made it into the account, and why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupOutcome {
    /// The AccountExport or AccountImport object.
    pub source: String,
    /// `None` when adopted; else the validation message (NAuth's reason `Conflict`).
    pub conflict: Option<String>,
}

/// Merges `groups` in order. Inline rules that fail are an error of the whole account (at
/// `field`); other failing groups are reported as conflicts and left out.
pub(crate) fn adopt<T: Clone + PartialEq>(
    groups: &[RuleGroup<T>],
    field: &str,
    validate: impl Fn(&[T], &mut ValidationResults),
) -> Result<(Vec<T>, Vec<GroupOutcome>), ClaimsError> {
    let mut accepted: Vec<T> = Vec::new();
    let mut outcomes = Vec::new();
    for group in groups {
        let mut candidate = accepted.clone();
        for rule in &group.rules {
            if !candidate.contains(rule) {
                candidate.push(rule.clone());
            }
        }
        let problem = [&group.rules, &candidate].into_iter().find_map(|rules| {
            let mut vr = ValidationResults::default();
            validate(rules, &mut vr);
            blocking_errors(&vr)
        });
        match (&group.source, problem) {
            (None, Some(message)) => return Err(ClaimsError::new(Some(field), message)),
            (None, None) => accepted = candidate,
            (Some(source), conflict) => {
                if conflict.is_none() {
                    accepted = candidate;
                }
                outcomes.push(GroupOutcome {
                    source: source.clone(),
                    conflict,
                });
            }
        }
    }
    Ok((accepted, outcomes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::{Export, ExportType, validate_exports};

    fn stream(name: &str, subject: &str) -> Export {
        Export {
            name: name.into(),
            subject: subject.into(),
            export_type: ExportType::Stream,
            ..Export::default()
        }
    }

    fn group(source: Option<&str>, rules: Vec<Export>) -> RuleGroup<Export> {
        RuleGroup {
            source: source.map(str::to_string),
            rules,
        }
    }

    fn run(groups: &[RuleGroup<Export>]) -> Result<(Vec<Export>, Vec<GroupOutcome>), ClaimsError> {
        adopt(groups, "spec.exports", |rules, vr| {
            validate_exports(rules, vr)
        })
    }

    #[test]
    fn identical_rules_merge_and_new_ones_append() {
        let (rules, outcomes) = run(&[
            group(None, vec![stream("a", "a.>"), stream("b", "b.>")]),
            group(Some("more"), vec![stream("a", "a.>"), stream("c", "c.>")]),
        ])
        .unwrap();
        let subjects: Vec<_> = rules.iter().map(|r| r.subject.as_str()).collect();
        assert_eq!(subjects, ["a.>", "b.>", "c.>"]);
        assert_eq!(
            outcomes,
            [GroupOutcome {
                source: "more".into(),
                conflict: None
            }]
        );
    }

    #[test]
    fn a_conflicting_group_is_rejected_whole_and_later_groups_still_apply() {
        let (rules, outcomes) = run(&[
            group(Some("first"), vec![stream("foo", "foo.*")]),
            group(
                Some("second"),
                vec![stream("ok", "ok.>"), stream("other", "foo.*")],
            ),
            group(Some("third"), vec![stream("bar", "bar.>")]),
        ])
        .unwrap();
        let subjects: Vec<_> = rules.iter().map(|r| r.subject.as_str()).collect();
        assert_eq!(subjects, ["foo.*", "bar.>"]);
        assert_eq!(outcomes[0].conflict, None);
        assert_eq!(
            outcomes[1].conflict.as_deref(),
            Some(r#"stream export subject "foo.*" already exports "foo.*""#)
        );
        assert_eq!(outcomes[2].conflict, None);
    }

    #[test]
    fn invalid_inline_rules_fail_the_account() {
        let err = run(&[group(None, vec![stream("bad", "invalid subject")])]).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("spec.exports"));
        assert_eq!(
            err.message,
            r#"subject "invalid subject" cannot have spaces"#
        );
    }
}
