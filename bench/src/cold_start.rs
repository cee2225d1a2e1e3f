//! Cold start and peak memory of a Lambda function process under a local Lambda Runtime API
//! (the emulator of `fsxn-lattice-tests`, on 127.0.0.1): the time from spawning the process to
//! the emulator receiving the response to its first event, and the process's peak resident set
//! (`VmHWM`), read while it waits for its second event.

use fsxn_lattice_tests::function::lambda_environment;
use fsxn_lattice_tests::runtime_api::{Emulator, Outcome};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One measured start.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// Spawn → response to the first event, milliseconds.
    pub ready_ms: f64,
    /// Peak resident set size, KiB.
    pub peak_rss_kib: u64,
}

/// Why a start could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum ColdStartError {
    /// The program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// Program.
        program: String,
        /// Cause.
        source: std::io::Error,
    },
    /// It answered, but not with a response (an error, an init error) or not what was expected.
    #[error("{program} answered {outcome}, not the expected response")]
    Unexpected {
        /// Program.
        program: String,
        /// What it answered.
        outcome: String,
    },
    /// No answer within the deadline; its output is attached.
    #[error("{program} gave no answer within {seconds} s; its output:\n{output}")]
    Timeout {
        /// Program.
        program: String,
        /// Deadline.
        seconds: u64,
        /// Its stdout and stderr.
        output: String,
    },
    /// `/proc/<pid>/status` had no `VmHWM` (not Linux?).
    #[error("no VmHWM for pid {0} in /proc (Linux only)")]
    NoRss(u32),
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Starts `program args…` in `dir` with the tests' Lambda environment plus `env`, hands it `event`,
/// and measures. `check` must accept the response (both sides must do the same work).
pub fn measure_once(
    program: &str,
    args: &[&str],
    dir: &Path,
    env: &[(&str, &str)],
    event: &Value,
    check: &dyn Fn(&Value) -> bool,
) -> Result<Sample, ColdStartError> {
    let emulator = Emulator::start(vec![event.clone()]);
    let log = std::env::temp_dir().join(format!("fsxn-lattice-bench-{}.log", std::process::id()));
    let log_file = std::fs::File::create(&log).map_err(|source| ColdStartError::Spawn {
        program: program.into(),
        source,
    })?;
    let mut cmd = Command::new(program);
    lambda_environment(&mut cmd, &emulator.address);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file.try_clone().map_err(|source| {
            ColdStartError::Spawn {
                program: program.into(),
                source,
            }
        })?))
        .stderr(Stdio::from(log_file));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|source| ColdStartError::Spawn {
        program: program.into(),
        source,
    })?;
    let deadline = Duration::from_secs(60);
    let outcome = emulator.next(deadline);
    let ready = started.elapsed();
    let rss = peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    match outcome {
        Some(Outcome::Response(v)) if check(&v) => Ok(Sample {
            ready_ms: ready.as_secs_f64() * 1000.0,
            peak_rss_kib: rss.ok_or(ColdStartError::NoRss(child.id()))?,
        }),
        Some(o) => Err(ColdStartError::Unexpected {
            program: program.into(),
            outcome: format!("{o:?}; output: {output}"),
        }),
        None => Err(ColdStartError::Timeout {
            program: program.into(),
            seconds: deadline.as_secs(),
            output,
        }),
    }
}

/// The median of a non-empty slice (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Medians of `runs` starts after one discarded warm-up start (which fills the page cache, the
/// same for both sides).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// What ran.
    pub name: String,
    /// Starts measured.
    pub runs: usize,
    /// Median spawn → first response, ms.
    pub ready_ms_median: f64,
    /// Fastest, ms.
    pub ready_ms_min: f64,
    /// Slowest, ms.
    pub ready_ms_max: f64,
    /// Median peak RSS, MiB.
    pub peak_rss_mib_median: f64,
}

/// Runs `measure` once to warm up, then `runs` times, printing a dot per start to stderr.
pub fn summarize(
    name: &str,
    runs: usize,
    mut measure: impl FnMut() -> Result<Sample, ColdStartError>,
) -> Result<Summary, ColdStartError> {
    measure()?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        samples.push(measure()?);
        eprint!(".");
    }
    eprintln!(" {name}");
    let ready: Vec<f64> = samples.iter().map(|s| s.ready_ms).collect();
    let rss: Vec<f64> = samples.iter().map(|s| s.peak_rss_kib as f64 / 1024.0).collect();
    Ok(Summary {
        name: name.into(),
        runs,
        ready_ms_median: median(&ready),
        ready_ms_min: ready.iter().copied().fold(f64::INFINITY, f64::min),
        ready_ms_max: ready.iter().copied().fold(0.0, f64::max),
        peak_rss_mib_median: median(&rss),
    })
}

/// How many times `floor`'s median start time and peak RSS `s` takes: for the functions against
/// the `lambda_runtime` hello-world, what they add to the runtime's own cold start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratio {
    /// Median spawn → first response, as a multiple of the floor's.
    pub ready: f64,
    /// Median peak RSS, as a multiple of the floor's.
    pub peak_rss: f64,
}

impl Ratio {
    /// `s` against `floor`.
    pub fn of(s: &Summary, floor: &Summary) -> Self {
        Self {
            ready: s.ready_ms_median / floor.ready_ms_median,
            peak_rss: s.peak_rss_mib_median / floor.peak_rss_mib_median,
        }
    }

    /// The largest time ratio and the largest RSS ratio (each its own worst program); `None`
    /// for no ratios.
    pub fn worst(ratios: &[Ratio]) -> Option<Ratio> {
        ratios.iter().copied().reduce(|a, b| Ratio {
            ready: a.ready.max(b.ready),
            peak_rss: a.peak_rss.max(b.peak_rss),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Ratio, Summary, median};

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    fn summary(ready_ms_median: f64, peak_rss_mib_median: f64) -> Summary {
        Summary {
            name: "p".into(),
            runs: 1,
            ready_ms_median,
            ready_ms_min: ready_ms_median,
            ready_ms_max: ready_ms_median,
            peak_rss_mib_median,
        }
    }

    #[test]
    fn ratios_to_the_floor_and_the_worst_of_each() {
        let floor = summary(4.0, 2.0);
        let a = Ratio::of(&summary(6.0, 2.5), &floor);
        let b = Ratio::of(&summary(5.0, 5.0), &floor);
        assert_eq!((a.ready, a.peak_rss), (1.5, 1.25));
        assert_eq!((b.ready, b.peak_rss), (1.25, 2.5));
        assert_eq!(
            Ratio::worst(&[a, b]),
            Some(Ratio {
                ready: 1.5,
                peak_rss: 2.5
            }),
            "the slowest and the largest, each on its own"
        );
        assert_eq!(Ratio::worst(&[]), None);
    }
}
