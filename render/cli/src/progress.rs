//! A progress line on a terminal for renders of large trees: on stderr, only when stderr is a
//! terminal (never in CI logs, pipes or kustomize), redrawn at most once per percent, and erased
//! when done so the terminal ends clean.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nauth_render::render::Progress;

/// Trees smaller than this render too fast for a progress line to help.
const MIN_OBJECTS: usize = 500;

/// A progress observer drawing on stderr, or none when stderr is not a terminal.
pub fn terminal(label: &'static str) -> Option<Progress> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let shown = AtomicUsize::new(usize::MAX);
    Some(Progress(Arc::new(move |done, total| {
        let last = shown.load(Ordering::Relaxed);
        if let Some((percent, text)) = line(label, done, total, last) {
            shown.store(percent, Ordering::Relaxed);
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
    })))
}

/// What to draw after `done` of `total` objects when `last` percent is on screen: the new
/// percent and the text, or nothing when the line would not change.
fn line(label: &str, done: usize, total: usize, last: usize) -> Option<(usize, String)> {
    if total < MIN_OBJECTS {
        return None;
    }
    if done >= total {
        return Some((100, "\r\x1b[2K".into()));
    }
    let percent = done * 100 / total;
    (percent != last).then(|| {
        (
            percent,
            format!("\r{label}: {done}/{total} objects ({percent}%)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redraws_once_per_percent_and_erases_itself_at_the_end() {
        let mut last = usize::MAX;
        let mut drawn = Vec::new();
        for done in 1..=1000 {
            if let Some((p, text)) = line("rendering", done, 1000, last) {
                last = p;
                drawn.push(text);
            }
        }
        assert_eq!(drawn.len(), 101, "percents 0..=99, then the erase");
        assert_eq!(drawn[0], "\rrendering: 1/1000 objects (0%)");
        assert_eq!(drawn[1], "\rrendering: 10/1000 objects (1%)");
        assert_eq!(drawn[100], "\r\x1b[2K");
    }

    #[test]
    fn small_trees_draw_nothing() {
        assert_eq!(line("rendering", 1, 10, usize::MAX), None);
        assert_eq!(line("rendering", 10, 10, 0), None);
    }
}
