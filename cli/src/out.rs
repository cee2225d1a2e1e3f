//! The one path to stdout. `println!` panics (exit 101, a message on stderr) when the reader has
//! gone — `fsxn-lattice demo | head -1` — because Rust ignores SIGPIPE and the write fails with
//! `EPIPE`. Every write of this binary goes through [`write`] (the `outln!`/`out!` macros)
//! instead, which turns a closed stdout into a quiet exit with status 0: whoever closed the pipe
//! has read all they wanted.
//!
//! The exception is a write while the world is being changed ([`keep_going`], around `apply`'s
//! reconcile): leaving then would abandon an apply half done, so the output is dropped, the
//! apply runs to its end and the command exits with its real status.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when stdout failed inside [`keep_going`]: later writes are dropped.
static GONE: AtomicBool = AtomicBool::new(false);
/// Set while a closed stdout must not end the process.
static KEEP_GOING: AtomicBool = AtomicBool::new(false);

/// Writes `args` to stdout, or exits if the reader has gone (see the module doc).
pub fn write(args: std::fmt::Arguments<'_>) {
    if GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        failed(&e);
    }
}

fn failed(e: &std::io::Error) {
    let broken_pipe = e.kind() == std::io::ErrorKind::BrokenPipe;
    if KEEP_GOING.load(Ordering::Relaxed) {
        if !broken_pipe && !GONE.load(Ordering::Relaxed) {
            // Not a reader that left (a full disk, say): say so once, then keep applying.
            let _ = writeln!(
                std::io::stderr(),
                "warning: cannot write to stdout ({e}); the rest of the output is dropped"
            );
        }
        GONE.store(true, Ordering::Relaxed);
        return;
    }
    if broken_pipe {
        std::process::exit(0);
    }
    let _ = writeln!(std::io::stderr(), "error (Internal): cannot write to stdout: {e}");
    std::process::exit(1);
}

/// Runs `f` with a closed stdout dropping the output instead of ending the process.
pub fn keep_going<T>(f: impl FnOnce() -> T) -> T {
    KEEP_GOING.store(true, Ordering::Relaxed);
    let result = f();
    KEEP_GOING.store(false, Ordering::Relaxed);
    result
}
