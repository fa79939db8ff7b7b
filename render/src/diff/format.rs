//! The three ways a diff is shown: text for a terminal, markdown for a pull-request comment, JSON
//! for tools. Text and markdown fold a rule that was added or removed into one line.

use super::facts::{Fact, is_within};
use super::{Change, ObjectDiff, Status};

/// How text output looks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// ANSI colors: green additions, red removals, yellow changes.
    pub color: bool,
}

/// One line of a diff as people read it.
enum Line {
    Added(String),
    Removed(String),
    Changed {
        path: String,
        old: String,
        new: String,
    },
}

/// Terminal text: each object with its status, then `+`, `-` and `~` lines.
pub fn text(diffs: &[ObjectDiff], style: Style) -> String {
    let paint = |code: &str, s: String| {
        if style.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s
        }
    };
    let mut out = String::new();
    for d in diffs {
        out.push_str(&paint(
            "1",
            format!("{} {} ({})", d.kind, d.object, status(d.status)),
        ));
        out.push('\n');
        for line in lines(&d.changes) {
            let l = match line {
                Line::Added(s) => paint("32", format!("  + {s}")),
                Line::Removed(s) => paint("31", format!("  - {s}")),
                Line::Changed { path, old, new } => {
                    paint("33", format!("  ~ {path}: {old} → {new}"))
                }
            };
            out.push_str(&l);
            out.push('\n');
        }
    }
    out.push_str(&summary(diffs));
    out.push('\n');
    out
}

/// Markdown for a pull-request comment: a summary, then a `diff` block per object, so the
/// forge colors additions and removals.
pub fn markdown(diffs: &[ObjectDiff]) -> String {
    let mut out = format!("### NATS authorization changes\n\n{}\n", summary(diffs));
    for d in diffs {
        out.push_str(&format!(
            "\n**{} `{}`** ({})\n\n```diff\n",
            d.kind,
            d.object,
            status(d.status)
        ));
        for line in lines(&d.changes) {
            match line {
                Line::Added(s) => out.push_str(&format!("+ {s}\n")),
                Line::Removed(s) => out.push_str(&format!("- {s}\n")),
                Line::Changed { path, old, new } => {
                    out.push_str(&format!("- {path}: {old}\n+ {path}: {new}\n"))
                }
            }
        }
        out.push_str("```\n");
    }
    out
}

/// JSON: `{"changed": bool, "objects": [...]}` with every differing fact, unfolded.
pub fn json(diffs: &[ObjectDiff]) -> String {
    let value = serde_json::json!({ "changed": !diffs.is_empty(), "objects": diffs });
    let mut text = serde_json::to_string_pretty(&value).expect("diffs serialize");
    text.push('\n');
    text
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Added => "added",
        Status::Removed => "removed",
        Status::Changed => "changed",
    }
}

/// `no change`, or how many Accounts and Users changed.
fn summary(diffs: &[ObjectDiff]) -> String {
    if diffs.is_empty() {
        return "No change to the effective authorization.".into();
    }
    let count = |kind: &str| diffs.iter().filter(|d| d.kind == kind).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} and {} changed.",
        plural(count("Account"), "account"),
        plural(count("User"), "user")
    )
}

/// Changes as lines, with a rule's fields folded into the line that adds or removes it.
fn lines(changes: &[Change]) -> Vec<Line> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < changes.len() {
        let c = &changes[i];
        i += 1;
        match (&c.old, &c.new) {
            (Some(old), Some(new)) => out.push(Line::Changed {
                path: c.path.clone(),
                old: old.shown(),
                new: new.shown(),
            }),
            (None, Some(value)) | (Some(value), None) => {
                let added = c.old.is_none();
                let present = *value == Fact::Present;
                let mut fields = Vec::new();
                if present {
                    while let Some(inner) = changes.get(i).filter(|n| {
                        is_within(&n.path, &c.path)
                            && n.old.is_none() == added
                            && n.new.is_none() != added
                    }) {
                        let rest = inner.path[c.path.len()..].trim_start_matches('.');
                        let v = inner.new.as_ref().or(inner.old.as_ref()).expect("one side");
                        fields.push(if *v == Fact::Present {
                            rest.to_string()
                        } else {
                            format!("{rest}={}", v.shown())
                        });
                        i += 1;
                    }
                }
                let text = match (present, fields.is_empty()) {
                    (true, true) => c.path.clone(),
                    (true, false) => format!("{}: {}", c.path, fields.join(", ")),
                    (false, _) => format!("{}: {}", c.path, value.shown()),
                };
                out.push(if added {
                    Line::Added(text)
                } else {
                    Line::Removed(text)
                });
            }
            (None, None) => {}
        }
    }
    out
}
