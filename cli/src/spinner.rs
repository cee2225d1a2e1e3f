//! `apply`'s progress line: while the reconcile plans, applies and waits for AWS (endpoints take
//! minutes), a spinner on stderr says what it is doing and for how long it has been at it.
//! Drawn only when both stdout and stderr are terminals and the output is text — never on a
//! pipe or with --output json. Built with the `aws` feature (indicatif); without it, apply
//! cannot run and this is a no-op.

use fsxn_lattice_core::reconcile::Progress;

/// Whether apply draws the progress line.
pub fn wanted(json: bool, stdout_terminal: bool, stderr_terminal: bool) -> bool {
    !json && stdout_terminal && stderr_terminal
}

/// The progress line for a reconcile event.
pub fn message(p: &Progress) -> String {
    match p {
        Progress::Planned { pass, plan } => format!(
            "pass {pass}: {} action(s) planned, {} awaited",
            plan.actions.len(),
            plan.waiting.len()
        ),
        Progress::Applied { pass, applied } => {
            format!("pass {pass}: applied {}", applied.action.action.summary())
        }
        Progress::Waiting { pass, seconds, what } => {
            format!("pass {pass}: waiting {seconds} s for AWS: {}", what.join("; "))
        }
    }
}

/// The spinner (hidden unless [`Spinner::new`] was told to draw).
pub struct Spinner {
    #[cfg(feature = "aws")]
    bar: Option<indicatif::ProgressBar>,
}

#[cfg(feature = "aws")]
impl Spinner {
    /// Starts drawing on stderr if `draw`, with `first` as its line.
    pub fn new(draw: bool, first: &str) -> Self {
        let bar = draw.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_msg}") {
                bar.set_style(style);
            }
            bar.set_message(first.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Self { bar }
    }

    /// Shows `message`; the elapsed time restarts with it.
    pub fn set(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.reset_elapsed();
            bar.set_message(message);
        }
    }

    /// Runs `f` (which prints lines) with the spinner cleared, then draws it again.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Clears the line for good.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(not(feature = "aws"))]
impl Spinner {
    /// Without the `aws` feature apply never runs: nothing to draw.
    pub fn new(_draw: bool, _first: &str) -> Self {
        Self {}
    }

    /// Nothing to show.
    pub fn set(&self, _message: String) {}

    /// Runs `f`.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        f()
    }

    /// Nothing to clear.
    pub fn finish(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use fsxn_lattice_core::plan::Plan;

    #[test]
    fn the_line_is_drawn_only_for_text_on_terminals() {
        assert!(wanted(false, true, true));
        assert!(!wanted(true, true, true), "--output json");
        assert!(!wanted(false, false, true), "stdout on a pipe");
        assert!(!wanted(false, true, false), "stderr on a pipe");
    }

    #[test]
    fn the_line_says_what_the_reconcile_is_doing() {
        let waiting = Progress::Waiting {
            pass: 3,
            seconds: 30,
            what: vec!["endpoint vpce-1 pending".into(), "gateway rgw-1 deleting".into()],
        };
        assert_eq!(
            message(&waiting),
            "pass 3: waiting 30 s for AWS: endpoint vpce-1 pending; gateway rgw-1 deleting"
        );
        let planned = Progress::Planned {
            pass: 1,
            plan: Box::new(Plan {
                waiting: vec!["endpoint vpce-1 pending".into()],
                ..Plan::default()
            }),
        };
        assert_eq!(message(&planned), "pass 1: 0 action(s) planned, 1 awaited");
    }
}
