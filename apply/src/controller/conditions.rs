//! Conditions as NAuth writes them: one per type, `lastTransitionTime` kept while the status
//! stays the same, and (for the kinds whose NAuth controller does so) sorted by type.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// The condition type every kind has.
pub const READY: &str = "Ready";

/// One condition to set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Set<'a> {
    /// Its type.
    pub type_: &'a str,
    /// True or False.
    pub status: bool,
    /// CamelCase reason.
    pub reason: &'a str,
    /// Human-readable detail.
    pub message: String,
}

/// `previous` with `set` applied: a condition of the same type is replaced in its place (so two
/// writers setting different conditions agree on the order, and a repeated write is a no-op),
/// keeping its `lastTransitionTime` when its status does not change; a new type is appended;
/// `generation`, when given, is written as the condition's `observedGeneration`.
pub fn apply(previous: &[Condition], set: &[Set], generation: Option<i64>) -> Vec<Condition> {
    let mut out: Vec<Condition> = previous.to_vec();
    for s in set {
        let status = if s.status { "True" } else { "False" };
        let old = previous.iter().find(|c| c.type_ == s.type_);
        let last_transition_time = match old {
            Some(c) if c.status == status => c.last_transition_time.clone(),
            _ => Time(Timestamp::now()),
        };
        let condition = Condition {
            type_: s.type_.to_string(),
            status: status.to_string(),
            reason: s.reason.to_string(),
            message: s.message.clone(),
            observed_generation: generation,
            last_transition_time,
        };
        match out.iter_mut().find(|c| c.type_ == s.type_) {
            Some(place) => *place = condition,
            None => out.push(condition),
        }
    }
    out
}

/// The conditions `o` holds in its status (none when it has no status yet).
pub fn current(o: &impl serde::Serialize) -> Vec<Condition> {
    serde_json::to_value(o)
        .ok()
        .and_then(|v| serde_json::from_value(v.pointer("/status/conditions")?.clone()).ok())
        .unwrap_or_default()
}

/// [`apply`], then sorted by type, as NAuth's AccountExport, AccountImport and
/// AccountSigningKey controllers write them.
pub fn apply_sorted(
    previous: &[Condition],
    set: &[Set],
    generation: Option<i64>,
) -> Vec<Condition> {
    let mut out = apply(previous, set, generation);
    out.sort_by(|a, b| a.type_.cmp(&b.type_));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(status: bool, reason: &str) -> Set<'static> {
        Set {
            type_: READY,
            status,
            reason: if reason == "OK" { "OK" } else { "Errored" },
            message: String::new(),
        }
    }

    #[test]
    fn a_replaced_condition_keeps_its_place() {
        let other = |status| Set {
            type_: "BoundToAccount",
            status,
            reason: "OK",
            message: String::new(),
        };
        let first = apply(&[], &[ready(true, "OK"), other(true)], None);
        let again = apply(&first, &[ready(false, "Errored")], None);
        let types: Vec<_> = again.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, [READY, "BoundToAccount"]);
        assert_eq!(apply(&again, &[ready(false, "Errored")], None), again);
    }

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let mut first = apply(&[], &[ready(false, "Errored")], Some(1));
        first[0].last_transition_time = Time(Timestamp::UNIX_EPOCH);
        let same = apply(&first, &[ready(false, "Errored")], Some(2));
        assert_eq!(same[0].last_transition_time, Time(Timestamp::UNIX_EPOCH));
        assert_eq!(same[0].observed_generation, Some(2));
        let flipped = apply(&same, &[ready(true, "OK")], Some(2));
        assert_ne!(flipped[0].last_transition_time, Time(Timestamp::UNIX_EPOCH));
        assert_eq!(flipped.len(), 1);
    }

    #[test]
    fn sorted_conditions_are_in_type_order() {
        let set = [
            Set {
                type_: "ValidRules",
                status: true,
                reason: "OK",
                message: String::new(),
            },
            ready(true, "OK"),
            Set {
                type_: "BoundToAccount",
                status: true,
                reason: "OK",
                message: String::new(),
            },
        ];
        let types: Vec<_> = apply_sorted(&[], &set, None)
            .into_iter()
            .map(|c| c.type_)
            .collect();
        assert_eq!(types, ["BoundToAccount", "Ready", "ValidRules"]);
    }
}
