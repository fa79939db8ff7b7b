//! YAML parse errors in words for the people who wrote the YAML: the parser's user-facing
//! messages, except where those still speak of its own options and counters (a budget breach
//! names an internal counter such as `RecordedAnchorEvents`).

use std::borrow::Cow;

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Error, MessageFormatter, SnippetMode, UserMessageFormatter};

/// `error` as one line: what is wrong and where (line and column), never a snippet of the input
/// (which could be a Secret's data).
pub fn message(error: &Error) -> String {
    error.render_with_options(serde_saphyr::render_options! {
        formatter: &Words,
        snippets: SnippetMode::Off,
    })
}

struct Words;

impl MessageFormatter for Words {
    fn format_message<'a>(&self, err: &'a Error) -> Cow<'a, str> {
        match err {
            Error::Budget { breach, .. } => Cow::Owned(format!(
                "too large or too complex to read safely: {}",
                breach_words(breach)
            )),
            _ => UserMessageFormatter.format_message(err),
        }
    }
}

/// Which limit a document broke, as a reader can act on it.
fn breach_words(breach: &BudgetBreach) -> &'static str {
    match breach {
        BudgetBreach::Aliases { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. } => {
            "it repeats anchored content through aliases (*name) too often; write the values out"
        }
        BudgetBreach::Anchors { .. } => "it defines too many anchors (&name)",
        BudgetBreach::Depth { .. } => "it nests too deeply",
        BudgetBreach::MergeKeys { .. } => "it uses too many merge keys (<<)",
        _ => "it is too big; split it into several files",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(yaml: &str) -> Error {
        serde_saphyr::from_str::<serde_json::Value>(yaml).unwrap_err()
    }

    #[test]
    fn a_duplicate_key_names_the_key_not_the_parser_option() {
        let text = message(&error_of("a: 1\na: 2\n"));
        assert!(
            text.starts_with("duplicate mapping key `a` is not allowed here"),
            "{text}"
        );
        assert!(!text.contains("DuplicateKeyPolicy"), "{text}");
    }

    #[test]
    fn a_budget_breach_says_what_to_change_not_which_counter() {
        let breach = Error::Budget {
            breach: BudgetBreach::RecordedAnchorEvents {
                recorded_anchor_events: 1_000_001,
            },
            location: serde_saphyr::Location::UNKNOWN,
        };
        assert_eq!(
            message(&breach),
            "too large or too complex to read safely: it repeats anchored content through \
             aliases (*name) too often; write the values out"
        );
    }
}
