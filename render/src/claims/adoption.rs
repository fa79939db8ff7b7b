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

/// What became of one AccountExport or AccountImport in an account: the data behind NAuth's
/// `status.adoptions` and behind every warning or error about adoption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupOutcome {
    /// The AccountExport or AccountImport object.
    pub source: String,
    /// Adopted, or why not.
    pub adoption: Adoption,
}

/// Whether a group's rules are in the account's claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Adoption {
    /// All of its rules are in the claims.
    Adopted,
    /// Its rules are valid on their own but clash with those of a group adopted before it
    /// (NAuth's reason `Conflict`): the first writer keeps the subject.
    Conflict {
        /// The group that won: an AccountExport or AccountImport name, or `None` for the
        /// Account's inline rules.
        winner: Option<String>,
        /// The validation message.
        message: String,
    },
    /// Its rules break NATS's rules on their own: invalid input, not a conflict.
    Invalid {
        /// The validation message.
        message: String,
    },
}

/// Merges `groups` in order. Inline rules that fail are an error of the whole account (at
/// `field`); other groups that fail are left out, with the reason in their outcome.
pub(crate) fn adopt<T: Clone + PartialEq>(
    groups: &[RuleGroup<T>],
    field: &str,
    validate: impl Fn(&[T], &mut ValidationResults),
) -> Result<(Vec<T>, Vec<GroupOutcome>), ClaimsError> {
    let problem = |rules: &[T]| {
        let mut vr = ValidationResults::default();
        validate(rules, &mut vr);
        blocking_errors(&vr)
    };
    let mut accepted: Vec<T> = Vec::new();
    // The group each accepted rule came from, to name the winner of a conflict.
    let mut owners: Vec<Option<&str>> = Vec::new();
    let mut outcomes = Vec::new();
    for group in groups {
        let adoption = match problem(&group.rules) {
            Some(message) => Adoption::Invalid { message },
            None => match problem(&merged(&accepted, &group.rules)) {
                Some(message) => Adoption::Conflict {
                    winner: winner(&accepted, &owners, &group.rules, problem),
                    message,
                },
                None => Adoption::Adopted,
            },
        };
        match (&group.source, adoption) {
            (None, Adoption::Invalid { message } | Adoption::Conflict { message, .. }) => {
                return Err(ClaimsError::new(Some(field), message));
            }
            (source, adoption) => {
                if adoption == Adoption::Adopted {
                    for rule in &group.rules {
                        if !accepted.contains(rule) {
                            accepted.push(rule.clone());
                            owners.push(group.source.as_deref());
                        }
                    }
                }
                if let Some(source) = source {
                    outcomes.push(GroupOutcome {
                        source: source.clone(),
                        adoption,
                    });
                }
            }
        }
    }
    Ok((accepted, outcomes))
}

/// `accepted` followed by the rules of `group` not already in it.
fn merged<T: Clone + PartialEq>(accepted: &[T], group: &[T]) -> Vec<T> {
    let mut candidate = accepted.to_vec();
    for rule in group {
        if !candidate.contains(rule) {
            candidate.push(rule.clone());
        }
    }
    candidate
}

/// The group owning the first accepted rule that `group` clashes with: the shortest prefix of
/// `accepted` that fails once merged with `group` ends with it.
fn winner<T: Clone + PartialEq>(
    accepted: &[T],
    owners: &[Option<&str>],
    group: &[T],
    problem: impl Fn(&[T]) -> Option<String>,
) -> Option<String> {
    (1..=accepted.len())
        .find(|&n| problem(&merged(&accepted[..n], group)).is_some())
        .and_then(|n| owners[n - 1])
        .map(str::to_string)
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
                adoption: Adoption::Adopted
            }]
        );
    }

    #[test]
    fn a_conflicting_group_is_rejected_whole_naming_the_first_writer() {
        let (rules, outcomes) = run(&[
            group(None, vec![stream("inline", "inline.>")]),
            group(Some("first"), vec![stream("foo", "foo.*")]),
            group(
                Some("second"),
                vec![stream("ok", "ok.>"), stream("other", "foo.>")],
            ),
            group(Some("third"), vec![stream("bar", "bar.>")]),
            group(Some("fourth"), vec![stream("in", "inline.x")]),
        ])
        .unwrap();
        let subjects: Vec<_> = rules.iter().map(|r| r.subject.as_str()).collect();
        assert_eq!(subjects, ["inline.>", "foo.*", "bar.>"]);
        let adoptions: Vec<_> = outcomes.iter().map(|o| &o.adoption).collect();
        assert_eq!(
            adoptions,
            [
                &Adoption::Adopted,
                &Adoption::Conflict {
                    winner: Some("first".into()),
                    message: r#"stream export subject "foo.*" already exports "foo.>"; stream export subject "foo.>" already exports "foo.*""#.into()
                },
                &Adoption::Adopted,
                &Adoption::Conflict {
                    winner: None,
                    message: r#"stream export subject "inline.>" already exports "inline.x""#
                        .into()
                },
            ]
        );
    }

    #[test]
    fn a_group_invalid_on_its_own_is_invalid_not_a_conflict() {
        let (rules, outcomes) = run(&[
            group(Some("first"), vec![stream("foo", "foo.>")]),
            group(Some("bad"), vec![stream("dot", ".")]),
        ])
        .unwrap();
        assert_eq!(rules.len(), 1);
        assert!(
            matches!(&outcomes[1].adoption, Adoption::Invalid { .. }),
            "{outcomes:?}"
        );
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
