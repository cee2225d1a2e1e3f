//! `fsxn-lattice-bench`: prints the performance tables of README "Performance".
//!
//! ```text
//! fsxn-lattice-bench api-calls [--svms 1,10,50] [--consumers 3] [--output text|json]
//! fsxn-lattice-bench wall-time [--svms 1,10,50] [--consumers 3] [--output text|json]
//! fsxn-lattice-bench cost [--schedule-minutes 15] [--events-per-day 20] [--output text|json]
//! fsxn-lattice-bench cold-start --bin-dir target/release [--runs 10] [--python python3]
//!                               (the four functions, the hello-world floor, Python 3/boto3)
//! fsxn-lattice-bench artifacts --bin-dir target/release
//! ```
//!
//! Exit codes: 0 all checks held; 1 a check failed (the table says which); 2 bad input or a
//! measurement that could not be made.

use clap::{Parser, Subcommand, ValueEnum};
use fsxn_lattice_bench::api_calls::{self, Measurement};
use fsxn_lattice_bench::artifacts;
use fsxn_lattice_bench::cold_start::{self, Ratio, Summary};
use fsxn_lattice_bench::fleet::FleetSize;
// The functions' test configuration (owner, one consumer): both sides parse and check it.
use fsxn_lattice_tests::function::CONFIG;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "fsxn-lattice-bench", about = "fsxn-lattice performance evidence")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// Output format.
    #[arg(long, value_enum, global = true, default_value = "text")]
    output: Output,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Output {
    Text,
    Json,
}

/// The fleets a simulated-cloud table measures.
#[derive(clap::Args)]
struct FleetArgs {
    /// Fleet sizes (SVMs); api-calls needs them increasing (the smallest is its reference).
    #[arg(long, value_delimiter = ',', default_value = "1,10,50")]
    svms: Vec<usize>,
    /// Consumer VPCs.
    #[arg(long, default_value_t = 3)]
    consumers: usize,
    /// SVMs per file system.
    #[arg(long, default_value_t = 10)]
    svms_per_file_system: usize,
}

impl FleetArgs {
    /// One [`FleetSize`] per `--svms` value, or why the arguments are refused.
    fn sizes(&self) -> Result<Vec<FleetSize>, String> {
        if self.svms.is_empty() || self.svms.contains(&0) || self.consumers == 0 || self.svms_per_file_system == 0 {
            return Err("--svms, --consumers and --svms-per-file-system must be positive".into());
        }
        Ok(self
            .svms
            .iter()
            .map(|&svms| FleetSize {
                svms,
                svms_per_file_system: self.svms_per_file_system,
                consumers: self.consumers,
            })
            .collect())
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// API calls per reconcile in the simulated cloud; fails if steady state writes or reads per resource.
    ApiCalls {
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Round trips and simulated wall time per reconcile, serial against concurrent; fails if
    /// steady state takes more than 4 round trips.
    WallTime {
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Billed Lambda time, Step Functions transitions and their price per month.
    Cost {
        /// Minutes between scheduled reconciles (template.yaml `ReconcileSchedule`).
        #[arg(long, default_value_t = 15.0)]
        schedule_minutes: f64,
        /// Events a day that reach the state machine and change nothing.
        #[arg(long, default_value_t = 20.0)]
        events_per_day: f64,
    },
    /// Cold start and peak RSS of the release Lambda binaries vs a `lambda_runtime` hello-world
    /// (the floor) and a Python 3 / boto3 baseline.
    ColdStart {
        /// Where the release binaries are.
        #[arg(long)]
        bin_dir: PathBuf,
        /// Measured starts per program (after one warm-up start).
        #[arg(long, default_value_t = 10)]
        runs: usize,
        /// The Python 3 with boto3 and awslambdaric installed.
        #[arg(long, default_value = "python3")]
        python: String,
    },
    /// Binary and Lambda zip sizes.
    Artifacts {
        /// Where the release binaries are.
        #[arg(long)]
        bin_dir: PathBuf,
    },
}

const FUNCTIONS: [&str; 4] = [
    "fsxn-lattice-provision",
    "fsxn-lattice-heal",
    "fsxn-lattice-publish-alias",
    "fsxn-lattice-reconcile",
];

/// The floor the functions are compared with: `lambda_runtime` and a handler that does nothing
/// (`bench/hello-world`, built with the same release profile; never deployed).
const HELLO_WORLD: &str = "fsxn-lattice-hello-world";

/// The largest ratio of a function's cold start to the hello-world's, in time, on the path
/// that makes no AWS call (the run fails beyond it). Peak RSS is reported beside it.
const HELLO_WORLD_GOAL: f64 = 1.5;

/// The event both sides answer `ignored` (an FSx backup: not a trigger).
const EVENT: &str = include_str!("../../events/fsx-create-backup.json");

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::ApiCalls { fleet } => fleet.sizes().and_then(|sizes| api_calls_cmd(&sizes, cli.output)),
        Cmd::WallTime { fleet } => fleet.sizes().and_then(|sizes| wall_time_cmd(&sizes, cli.output)),
        Cmd::Cost {
            schedule_minutes,
            events_per_day,
        } => cost_cmd(schedule_minutes, events_per_day, cli.output),
        Cmd::ColdStart { bin_dir, runs, python } => cold_start_cmd(&bin_dir, runs, &python, cli.output),
        Cmd::Artifacts { bin_dir } => artifacts_cmd(&bin_dir, cli.output),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            if cli.output == Output::Json {
                println!("{}", json!({"error": e}));
            } else {
                eprintln!("error: {e}");
            }
            ExitCode::from(2)
        }
    }
}

fn cost_cmd(schedule_minutes: f64, events_per_day: f64, output: Output) -> Result<bool, String> {
    use fsxn_lattice_bench::cost;
    if !(schedule_minutes >= 1.0 && events_per_day >= 0.0 && events_per_day.is_finite()) {
        return Err("--schedule-minutes must be at least 1 and --events-per-day not negative".into());
    }
    let m = cost::measure()?;
    let month = cost::month(&m, schedule_minutes, events_per_day);
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"measured": m, "month": month})).map_err(|e| e.to_string())?
        );
        return Ok(true);
    }
    println!(
        "What running fsxn-lattice costs (simulated cloud with the latency model; 256 MB arm64 Lambdas, us-east-1 prices of 2026-11-27)"
    );
    println!(
        "{:<46} {:>11} {:>11} {:>10} {:>10} {:>11}",
        "execution", "transitions", "invocations", "Lambda ms", "elapsed", "USD"
    );
    for e in [&m.provisioning, &m.no_op_event] {
        println!(
            "{:<46} {:>11} {:>11} {:>10} {:>8.0} s {:>11.7}",
            e.what,
            e.transitions,
            e.invocations,
            e.lambda_ms,
            e.elapsed_s,
            e.usd()
        );
    }
    println!(
        "{:<46} {:>11} {:>11} {:>10}",
        "scheduled Reconcile, steady state", 0, 1, m.scheduled_ms
    );
    println!();
    println!(
        "a month, a reconcile every {schedule_minutes} min and {events_per_day} events a day: {:.0} reconciles, {:.0} executions, {:.1} GB-s, {:.0} requests, {:.0} transitions = ${:.4} before the free tier (400,000 GB-s, 1M requests, 4,000 transitions a month)",
        month.scheduled, month.events, month.gb_seconds, month.requests, month.transitions, month.usd
    );
    println!(
        "what it builds, per SVM and consumer VPC: a Resource VPC endpoint (hourly price: not in our sources, see aws.amazon.com/privatelink/pricing) and $0.01/GB processed; the Transit Gateway it replaces: $0.05 per attachment-hour ({:.2} USD a month for each VPC attached: the FSx VPC and every consumer VPC) and $0.02/GB",
        0.05 * cost::DAYS_PER_MONTH * 24.0
    );
    Ok(true)
}

fn wall_time_cmd(sizes: &[FleetSize], output: Output) -> Result<bool, String> {
    use fsxn_lattice_bench::wall::{self, Mode};
    let mut rows = Vec::new();
    for &size in sizes {
        for mode in Mode::ALL {
            eprintln!(
                "timing {} SVM(s) × {} consumer VPC(s), {mode:?} …",
                size.svms, size.consumers
            );
            rows.push(wall::measure(size, mode)?);
        }
    }
    let failures = wall::check(&rows);
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"rows": rows, "failures": failures})).map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "Wall time per reconcile (simulated cloud; latency per call: EC2 60 ms, VPC Lattice 50 ms, Route 53 40 ms, FSx 80 ms, assumed)"
        );
        println!(
            "{:>5}  {:<18} {:<13} {:>6} {:>11} {:>12} {:>10} {:>6}",
            "SVMs", "phase", "mode", "calls", "round trips", "in calls", "wall", "passes"
        );
        for r in &rows {
            for (phase, f) in [("first provisioning", &r.first), ("steady state", &r.steady)] {
                println!(
                    "{:>5}  {:<18} {:<13} {:>6} {:>11} {:>9.0} ms {:>8.1} s {:>6}",
                    r.svms,
                    phase,
                    r.mode.name(),
                    f.calls,
                    f.round_trips,
                    f.in_calls_ms,
                    f.wall_s,
                    f.passes
                );
            }
        }
        println!();
        for triple in rows.chunks(3) {
            if let [s, p, c] = triple {
                println!(
                    "{:>3} SVMs: steady state {} → {} round trips ({:.1}× less time in calls); first provisioning {:.0} s serial paced → {:.0} s concurrent ({:.0} s serial unpaced, which AWS would throttle)",
                    s.svms,
                    s.steady.round_trips,
                    c.steady.round_trips,
                    s.steady.in_calls_ms / c.steady.in_calls_ms.max(f64::EPSILON),
                    p.first.wall_s,
                    c.first.wall_s,
                    s.first.wall_s
                );
            }
        }
        if failures.is_empty() {
            println!(
                "check: steady state within {} round trips — held",
                wall::STEADY_ROUND_TRIPS_GOAL
            );
        } else {
            for f in &failures {
                println!("FAILED: {f}");
            }
        }
    }
    Ok(failures.is_empty())
}

fn api_calls_cmd(sizes: &[FleetSize], output: Output) -> Result<bool, String> {
    if sizes.windows(2).any(|w| w[0].svms >= w[1].svms) {
        return Err("--svms must be increasing (the smallest fleet is the reference)".into());
    }
    let mut rows: Vec<Measurement> = Vec::new();
    for &size in sizes {
        eprintln!("measuring {} SVM(s) × {} consumer VPC(s) …", size.svms, size.consumers);
        rows.push(api_calls::measure(size).map_err(|e| e.to_string())?);
    }
    let failures = api_calls::check(&rows);
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"rows": rows, "failures": failures})).map_err(|e| e.to_string())?
        );
    } else {
        println!("API calls per reconcile (simulated cloud, counted as the AWS adapters make them)");
        println!(
            "{:>5} {:>9} {:>4}  {:<18} {:>6} {:>6} {:>8} {:>6}",
            "SVMs", "consumers", "FS", "phase", "reads", "writes", "created", "passes"
        );
        for m in &rows {
            let c = &m.created;
            let created = c.subnets + c.reservations + c.gateways + c.configurations + c.endpoints + c.cnames;
            println!(
                "{:>5} {:>9} {:>4}  {:<18} {:>6} {:>6} {:>8} {:>6}",
                m.svms,
                m.consumers,
                m.file_systems,
                "first provisioning",
                m.first.reads,
                m.first.writes,
                created,
                m.first_passes
            );
            println!(
                "{:>5} {:>9} {:>4}  {:<18} {:>6} {:>6} {:>8} {:>6}",
                m.svms, m.consumers, m.file_systems, "steady state", m.steady.reads, m.steady.writes, 0, 1
            );
        }
        if let Some(last) = rows.last() {
            println!("\nsteady-state reads at {} SVMs, by operation:", last.svms);
            for (op, n) in &last.steady.by_operation {
                println!("  {op:<34} {n:>4}");
            }
            let c = &last.created;
            println!(
                "created at {} SVMs: {} gateways, {} reservations, {} subnets, {} configurations, {} endpoints, {} aliases (CNAME + ownership TXT, one change batch each)",
                last.svms, c.gateways, c.reservations, c.subnets, c.configurations, c.endpoints, c.cnames
            );
        }
        if failures.is_empty() {
            println!(
                "\nchecks: steady state writes 0 and reads no resource one by one; reads grow only by list pages; first provisioning writes once per resource created — all held"
            );
        } else {
            println!("\nFAILED:");
            for f in &failures {
                println!("  {f}");
            }
        }
    }
    Ok(failures.is_empty())
}

fn cold_start_cmd(bin_dir: &Path, runs: usize, python: &str, output: Output) -> Result<bool, String> {
    if runs == 0 {
        return Err("--runs must be positive".into());
    }
    let event: Value = serde_json::from_str(EVENT).map_err(|e| e.to_string())?;
    let ignored = |v: &Value| v["status"] == "ignored";
    let here = std::env::current_dir().map_err(|e| e.to_string())?;
    let mut rust: Vec<Summary> = Vec::new();
    for f in FUNCTIONS.into_iter().chain([HELLO_WORLD]) {
        let bin = bin_dir.join(f);
        if !bin.is_file() {
            return Err(format!(
                "{} not found: build with `cargo build --release` first",
                bin.display()
            ));
        }
        let program = bin.display().to_string();
        rust.push(
            cold_start::summarize(f, runs, || {
                cold_start::measure_once(
                    &program,
                    &[],
                    &here,
                    &[("FSXN_LATTICE_CONFIG", CONFIG)],
                    &event,
                    &ignored,
                )
            })
            .map_err(|e| e.to_string())?,
        );
    }
    let hello = rust.pop().ok_or("no hello-world measurement")?;
    // Each function against the floor: what it adds to the runtime's own cold start.
    let to_hello: Vec<Ratio> = rust.iter().map(|r| Ratio::of(r, &hello)).collect();
    let worst_to_hello = Ratio::worst(&to_hello).ok_or("no function measured")?;
    let handler_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
    let py = cold_start::summarize("python3 + boto3 (awslambdaric)", runs, || {
        cold_start::measure_once(
            python,
            &["-m", "awslambdaric", "handler.handler"],
            &handler_dir,
            &[("FSXN_LATTICE_CONFIG", CONFIG)],
            &event,
            &ignored,
        )
    })
    .map_err(|e| e.to_string())?;
    let versions = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, boto3, botocore, importlib.metadata as m; print(sys.version.split()[0], boto3.__version__, botocore.__version__, m.version('awslambdaric'))",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let fastest_ratio = rust
        .iter()
        .map(|r| py.ready_ms_median / r.ready_ms_median)
        .fold(f64::INFINITY, f64::min);
    let memory_ratio = rust
        .iter()
        .map(|r| py.peak_rss_mib_median / r.peak_rss_mib_median)
        .fold(f64::INFINITY, f64::min);
    let goals = fastest_ratio >= 10.0 && memory_ratio >= 3.0;
    let hello_goal_met = worst_to_hello.ready <= HELLO_WORLD_GOAL;
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "rust": rust, "hello_world": hello, "python": py, "python_versions": versions,
                "worst_speedup": fastest_ratio, "worst_memory_ratio": memory_ratio,
                "goals_met": goals && hello_goal_met,
                "ratios_to_hello_world": to_hello, "worst_ratio_to_hello_world": worst_to_hello,
                "hello_world_goal": {"max_time_ratio": HELLO_WORLD_GOAL, "met": hello_goal_met},
            }))
            .map_err(|e| e.to_string())?
        );
    } else {
        println!("Cold start → first event handled, and peak RSS ({runs} starts each after one warm-up; medians)");
        println!("Python {versions} (python, boto3, botocore, awslambdaric)");
        println!(
            "{:<32} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>11} {:>11}",
            "program", "ready ms", "min", "max", "RSS MiB", "× faster", "× less mem", "× hello", "× hello mem"
        );
        let row = |name: &str, r: &Summary, vs_python: Option<(f64, f64)>| {
            let h = Ratio::of(r, &hello);
            let (faster, less_mem) = vs_python.map_or(("1.0".into(), "1.0".into()), |(t, m)| {
                (format!("{t:.1}"), format!("{m:.1}"))
            });
            println!(
                "{:<32} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>9} {:>9} {:>11.2} {:>11.2}",
                name,
                r.ready_ms_median,
                r.ready_ms_min,
                r.ready_ms_max,
                r.peak_rss_mib_median,
                faster,
                less_mem,
                h.ready,
                h.peak_rss
            );
        };
        let vs_python = |r: &Summary| {
            Some((
                py.ready_ms_median / r.ready_ms_median,
                py.peak_rss_mib_median / r.peak_rss_mib_median,
            ))
        };
        for r in &rust {
            row(&r.name, r, vs_python(r));
        }
        row(&format!("{} (floor)", hello.name), &hello, vs_python(&hello));
        row(&py.name, &py, None);
        println!(
            "\ngoals (≥10× faster, ≥3× less memory): worst {fastest_ratio:.1}× faster, {memory_ratio:.1}× less memory — {}",
            if goals { "met" } else { "NOT met" }
        );
        println!(
            "goal ≤ {HELLO_WORLD_GOAL}× hello-world in time: worst {:.2}× — {} (peak RSS: worst {:.2}×, reported, no goal)",
            worst_to_hello.ready,
            if hello_goal_met { "met" } else { "NOT met" },
            worst_to_hello.peak_rss,
        );
    }
    Ok(goals && hello_goal_met)
}

fn artifacts_cmd(bin_dir: &Path, output: Output) -> Result<bool, String> {
    let mut rows = Vec::new();
    for f in FUNCTIONS {
        rows.push(artifacts::measure(bin_dir, f, true).map_err(|e| e.to_string())?);
    }
    // The CLI is reported where it was built (scripts/bench builds it; a profile comparison may not).
    if bin_dir.join("fsxn-lattice").is_file() {
        rows.push(artifacts::measure(bin_dir, "fsxn-lattice", false).map_err(|e| e.to_string())?);
    }
    let limit = 8 * 1024 * 1024;
    let ok = rows.iter().all(|a| a.zip_bytes.is_none_or(|z| z < limit));
    let mib = |b: u64| b as f64 / 1024.0 / 1024.0;
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"artifacts": rows, "arch": std::env::consts::ARCH, "zip_limit_bytes": limit, "ok": ok})
            )
            .map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "Release artifacts ({}; bootstrap zipped with deflate)",
            std::env::consts::ARCH
        );
        println!("{:<28} {:>12} {:>12}", "binary", "binary MiB", "zip MiB");
        for a in &rows {
            println!(
                "{:<28} {:>12.2} {:>12}",
                a.name,
                mib(a.binary_bytes),
                a.zip_bytes
                    .map(|z| format!("{:.2}", mib(z)))
                    .unwrap_or_else(|| "—".into())
            );
        }
        println!(
            "\ngoal (each Lambda zip < 8 MiB): {}",
            if ok { "met" } else { "NOT met" }
        );
    }
    Ok(ok)
}
