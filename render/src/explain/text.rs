//! The human-readable form of an [`Explanation`]: one verdict line, then indented reasons.

use super::{Explanation, Operation};

impl Explanation {
    /// The verdict line (`allowed: shop/x may publish to a.b`), then one indented line per
    /// fact: where the permissions come from, each check, each route, each note.
    pub fn to_text(&self) -> String {
        let verb = match self.action {
            "publish" => format!("publish to {}", self.subject),
            "request" => format!("send requests to {}", self.subject),
            _ => match &self.queue {
                Some(q) => format!("subscribe to {} in queue group {q}", self.subject),
                None => format!("subscribe to {}", self.subject),
            },
        };
        let mut out = if self.allowed {
            format!("allowed: {} may {verb}\n", self.user)
        } else {
            format!("denied: {} may not {verb}\n", self.user)
        };
        out.push_str(&format!(
            "  permissions of {} (Account {}): {}\n",
            self.user, self.account, self.permissions
        ));
        for check in &self.checks {
            let op = match check.operation {
                Operation::Publish => "publish",
                Operation::Subscribe => "subscribe",
            };
            let answer = if check.allowed { "allowed" } else { "denied" };
            let reason = if check.reason.starts_with(answer) {
                check.reason.clone()
            } else {
                format!("{answer}: {}", check.reason)
            };
            out.push_str(&format!("  {op} {}: {reason}\n", check.subject));
        }
        for route in &self.routes {
            out.push_str(&format!("  route: {}\n", route.reason));
        }
        for note in &self.notes {
            out.push_str(&format!("  note: {note}\n"));
        }
        out
    }
}
