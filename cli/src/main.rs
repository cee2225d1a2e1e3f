//! `fsxn-lattice`: run the seed scenario in the simulated cloud, analyse /28 capacity offline,
//! explain what an EventBridge event (or a Step Functions input) would make the project do, and
//! check an account (`doctor`).
//!
//! Exit codes (README "Exit codes and errors"): 0 success, 1 the command ran but the result is a
//! failure (e.g. the demo did not converge) or an AWS call failed or an `Internal` error, 2
//! refused before anything was done (`InvalidInput`, `NotFound` or `Unsupported`, argument errors
//! included; nothing was changed).
//!
//! Every write to stdout goes through [`out`] (`outln!`/`out!`): `print_stdout` is denied.

#![deny(clippy::print_stdout)]

/// `println!` through [`out::write`]: a closed stdout ends the command quietly.
macro_rules! outln {
    () => {
        $crate::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`out::write`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*))
    };
}

mod aws_json;
mod live;
mod map;
mod out;
mod spinner;

use clap::{Parser, Subcommand, ValueEnum};
use fsxn_lattice_core::capacity::{SubnetCapacity, analyze_subnet};
use fsxn_lattice_core::config::Config;
use fsxn_lattice_core::doctor::{self, GatherOptions, diagnose, gather};
use fsxn_lattice_core::error::CloudError;
use fsxn_lattice_core::events::Trigger;
use fsxn_lattice_core::plan::Plan;
use fsxn_lattice_core::reconcile::{Progress, ReconcileStatus};
use fsxn_lattice_core::step::{self, Function};
use fsxn_lattice_sim::audit::{SeedStage, seed_doctor_world};
use fsxn_lattice_sim::scenario::{DemoOptions, DemoReport, run_seed_demo};
use live::AwsArgs;
use map::SubnetInputs;
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "fsxn-lattice",
    version,
    about = "Expose Multi-AZ FSx for NetApp ONTAP SVMs to other VPCs through VPC Lattice, and heal gateway /28 exhaustion"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Output {
    Text,
    Json,
}

/// Which story `demo` tells.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum DemoScenario {
    /// The field report's seed scenario.
    Seed,
    /// Consumers in two other accounts.
    MultiAccount,
}

/// Which simulated world `doctor --simulated` examines.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum SimulatedWorld {
    /// Right after the seed's failed first attempt.
    Failed,
    /// After the heal converged.
    Healed,
}

#[derive(Subcommand)]
enum Command {
    /// Run the seed scenario end to end in the simulated cloud.
    Demo {
        /// Seed of the simulated cloud (same seed, same run): the field report's world stays;
        /// where the fragmented subnets' used addresses fall and every generated id change.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// With the seed's Active Directory and a `[directory]` section: fsxn-lattice adds the
        /// alias's SPNs and its AD DNS record itself (no manual step), and SMB through the alias
        /// goes from NTLMv2 to Kerberos.
        #[arg(long, conflicts_with = "scenario")]
        directory: bool,
        /// Which story: `seed` (the field report's, the default) or `multi-account` (the seed's
        /// file system consumed from two other accounts through RAM shares and assumed roles:
        /// the shares, the endpoints and alias there, a heal across accounts, an account whose
        /// role cannot be assumed, a consumer removed).
        #[arg(long, value_enum, default_value = "seed")]
        scenario: DemoScenario,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Analyse the aligned /28 capacity of subnets: offline from AWS CLI JSON files, or live
    /// with --vpc/--subnet (needs the `aws` feature).
    Capacity {
        /// `aws ec2 describe-subnets` output.
        #[arg(long, requires = "network_interfaces", conflicts_with_all = ["vpc", "subnet"])]
        subnets: Option<PathBuf>,
        /// `aws ec2 describe-network-interfaces` output.
        #[arg(long = "network-interfaces", requires = "subnets")]
        network_interfaces: Option<PathBuf>,
        /// `aws ec2 get-subnet-cidr-reservations` output (one file per subnet; repeatable).
        #[arg(long = "cidr-reservations", requires = "subnets")]
        cidr_reservations: Vec<PathBuf>,
        /// Live: every subnet of this VPC.
        #[arg(long)]
        vpc: Option<String>,
        /// Live: these subnets (repeatable), found in --vpc or in the VPCs of the FSx file systems.
        #[arg(long)]
        subnet: Vec<String>,
        #[command(flatten)]
        aws: AwsArgs,
        /// Do not draw the map. Text output on a terminal draws, under the table, each subnet as
        /// one row per aligned /28 block with one cell per address (R AWS-reserved, # an ENI's
        /// private IP, P in an ENI's prefix, X in an explicit reservation, r in a prefix
        /// reservation, . free); runs of 3 or more alike blocks are folded into one row and a
        /// "… k more blocks like it" line, and at most 40 lines are drawn per subnet (the first
        /// 31 and the last 8, around a line counting the blocks left out). Never drawn with
        /// --output json or when stdout is not a terminal.
        #[arg(long = "no-map")]
        no_map: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Say what the project would do with an EventBridge event, or with a Step Functions input
    /// such as events/step-input-poll.json (a JSON file, or - for stdin).
    ExplainEvent {
        /// The event or Step Functions input.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Randomized reliability campaigns in the simulated cloud (faults of every kind until the
    /// end, crashes, racing reconcilers, lost, late and duplicated events, a second owner's
    /// resources), each checked against an independent oracle; exit 0 only if every run
    /// converged clean.
    Chaos {
        /// First campaign seed (with --runs 1 and --seeds 1: the run's own seed, as printed in
        /// failures).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Campaign seeds: --seed, --seed + 1, … (--runs runs each).
        #[arg(long, default_value_t = 1)]
        seeds: u32,
        /// Runs per campaign seed.
        #[arg(long, default_value_t = 100)]
        runs: u32,
        /// Probability that an API call fails (0.0-1.0; 1 fails every call), from the first
        /// change to the end; the kinds are split as `fsxn_lattice_sim::FaultMix::All` says.
        #[arg(long = "fault-rate", default_value_t = 0.1)]
        fault_rate: f64,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Read-only preflight and diagnosis of the account (run it before `sam deploy`, and after
    /// with --stack): one line per check, ✓ / ! / ✗, each with its fix. Exit 1 if any check
    /// failed. Against AWS it needs the `aws` feature; --simulated examines the simulated
    /// cloud's seed world instead.
    Doctor {
        /// The configuration file (docs/config.md); with --simulated, default: the demo's.
        #[arg(long, required_unless_present = "simulated")]
        config: Option<PathBuf>,
        #[command(flatten)]
        aws: AwsArgs,
        /// The deployed stack: simulate its function roles' policies (iam:SimulatePrincipalPolicy).
        #[arg(long)]
        stack: Option<String>,
        /// How far back CloudTrail is searched for the cause of a failed gateway or endpoint
        /// (1-2160 hours; LookupEvents keeps 90 days).
        #[arg(long = "lookback-hours", default_value_t = 24)]
        lookback_hours: u64,
        /// Examine the simulated cloud instead of AWS: the seed world right after its failed
        /// first attempt (`failed`, the default) or after the heal (`healed`).
        #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "failed",
              conflicts_with_all = ["profile", "region", "endpoint_url"])]
        simulated: Option<SimulatedWorld>,
        /// Seed of the simulated cloud.
        #[arg(long, default_value_t = 1, requires = "simulated")]
        seed: u64,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Plan against real AWS with a config file (read-only: nothing is changed).
    Plan {
        /// The configuration file (docs/config.md).
        #[arg(long)]
        config: PathBuf,
        #[command(flatten)]
        aws: AwsArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Plan, confirm, then apply against real AWS, polling until converged or --max-wait.
    Apply {
        /// The configuration file (docs/config.md).
        #[arg(long)]
        config: PathBuf,
        #[command(flatten)]
        aws: AwsArgs,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Longest time to wait for AWS (endpoints, deletions), in seconds.
        #[arg(long = "max-wait", default_value_t = 900)]
        max_wait: u64,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
}

/// An error with a stable type, printed as `{"error": {"type", "message"}}` under --output json.
#[derive(Debug)]
pub struct CliError {
    kind: String,
    message: String,
    code: u8,
}

impl CliError {
    /// Bad input: exit 2, nothing changed.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            kind: "InvalidInput".into(),
            message: message.into(),
            code: 2,
        }
    }
    /// Not available in this build: exit 2, nothing changed.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self {
            kind: "Unsupported".into(),
            message: message.into(),
            code: 2,
        }
    }
    /// Something named on the command line (a VPC, a subnet) does not exist: exit 2, nothing
    /// changed.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            kind: "NotFound".into(),
            message: message.into(),
            code: 2,
        }
    }
    /// A failure of ours: exit 1.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: "Internal".into(),
            message: message.into(),
            code: 1,
        }
    }
    /// An AWS call failed: its kind is the type; exit 1.
    pub fn cloud(e: CloudError) -> Self {
        Self {
            kind: e.kind.as_str().into(),
            message: e.to_string(),
            code: 1,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return argument_error(e, json_requested(std::env::args_os().skip(1))),
    };
    let output = match &cli.command {
        Command::Demo { output, .. }
        | Command::Capacity { output, .. }
        | Command::ExplainEvent { output, .. }
        | Command::Chaos { output, .. }
        | Command::Doctor { output, .. }
        | Command::Plan { output, .. }
        | Command::Apply { output, .. } => *output,
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if output == Output::Json {
                outln!("{}", json!({"error": {"type": e.kind, "message": e.message}}));
            } else {
                eprintln!("error ({}): {}", e.kind, e.message);
            }
            ExitCode::from(e.code)
        }
    }
}

/// Whether `--output json` (or `--output=json`) is among the arguments, read before clap so
/// that an argument error can honour it.
fn json_requested(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let mut after_output = false;
    for arg in args {
        if arg == "--" {
            break;
        }
        if arg == "--output=json" || (after_output && arg == "json") {
            return true;
        }
        after_output = arg == "--output";
    }
    false
}

/// A command line clap refused: `--help` and `--version` print as usual and exit 0; an error
/// exits 2, as clap's text on stderr, or under `--output json` as the CLI's other errors are:
/// `{"error": {"type": "InvalidInput", "message"}}` on stdout.
fn argument_error(e: clap::Error, json: bool) -> ExitCode {
    if !json || !e.use_stderr() {
        e.exit();
    }
    outln!(
        "{}",
        json!({"error": {"type": "InvalidInput", "message": argument_error_message(&e)}})
    );
    ExitCode::from(2)
}

/// clap's error text on one line: without the `error: ` label, the blank lines and the
/// `For more information, try '--help'.` line; the tips and the usage stay.
fn argument_error_message(e: &clap::Error) -> String {
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return "a command is required; see --help".into();
    }
    let text = e.render().to_string();
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
        .trim_start_matches("error: ")
        .to_string()
}

/// The largest input file read (README "Other commands"), without a leading UTF-8 byte-order
/// mark: 64 MiB holds the AWS CLI's listing
/// of tens of thousands of ENIs; anything bigger (or endless, like /dev/zero) is refused
/// before it can exhaust memory.
const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

fn read(path: &PathBuf) -> Result<Vec<u8>, CliError> {
    use std::io::Read;
    let name = if path.as_os_str() == "-" {
        "stdin".to_string()
    } else {
        path.display().to_string()
    };
    let source: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| CliError::invalid(format!("{name}: {e}")))?)
    };
    let mut buf = Vec::new();
    source
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::invalid(format!("{name}: {e}")))?;
    if buf.len() as u64 > MAX_INPUT_BYTES {
        return Err(CliError::invalid(format!(
            "{name}: larger than {} MiB, the most an input file may be",
            MAX_INPUT_BYTES / (1024 * 1024)
        )));
    }
    // Every input is JSON or TOML text: the UTF-8 byte-order mark some editors write is not part
    // of it.
    if buf.starts_with(b"\xef\xbb\xbf") {
        buf.drain(..3);
    }
    Ok(buf)
}

fn read_text(path: &PathBuf) -> Result<String, CliError> {
    String::from_utf8(read(path)?).map_err(|_| CliError::invalid(format!("{}: not UTF-8", path.display())))
}

/// Text that came from an event, safe to print on a terminal: control characters (escape
/// sequences, carriage returns, newlines) are shown escaped, and length is bounded.
fn clean(s: &str) -> String {
    const MAX: usize = 500;
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The AWS CLI outputs `capacity` reads, told apart by their top-level members.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AwsDoc {
    Subnets,
    NetworkInterfaces,
    CidrReservations,
}

impl AwsDoc {
    const ALL: [AwsDoc; 3] = [Self::Subnets, Self::NetworkInterfaces, Self::CidrReservations];

    /// The command that prints it.
    fn command(self) -> &'static str {
        match self {
            Self::Subnets => "aws ec2 describe-subnets",
            Self::NetworkInterfaces => "aws ec2 describe-network-interfaces",
            Self::CidrReservations => "aws ec2 get-subnet-cidr-reservations",
        }
    }

    /// The option that takes it.
    fn option(self) -> &'static str {
        match self {
            Self::Subnets => "--subnets",
            Self::NetworkInterfaces => "--network-interfaces",
            Self::CidrReservations => "--cidr-reservations",
        }
    }

    /// Its top-level members (one is enough to recognise it).
    fn members(self) -> &'static [&'static str] {
        match self {
            Self::Subnets => &["Subnets"],
            Self::NetworkInterfaces => &["NetworkInterfaces"],
            Self::CidrReservations => &["SubnetIpv4CidrReservations", "SubnetIpv6CidrReservations"],
        }
    }

    fn members_text(self) -> String {
        self.members()
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// Checks that `text` (read from `name`) is the output of `want`'s command: a file of another
/// kind — describe-subnets given as --cidr-reservations, whose parser takes any object as an
/// empty list — is refused, naming what the file looks like. Only the top-level member names
/// are kept while checking, so a 64 MiB listing is not held twice.
fn check_aws_doc(name: &str, text: &str, want: AwsDoc) -> Result<(), CliError> {
    use std::collections::BTreeMap;
    let members: BTreeMap<String, serde::de::IgnoredAny> = serde_json::from_str(text).map_err(|e| {
        CliError::invalid(format!(
            "{name}: not the JSON object that `{}` prints ({}): {e}",
            want.command(),
            want.option()
        ))
    })?;
    let is = |doc: AwsDoc| doc.members().iter().any(|m| members.contains_key(*m));
    if is(want) {
        return Ok(());
    }
    let found = match AwsDoc::ALL.into_iter().find(|d| is(*d)) {
        Some(other) => format!(
            "it looks like `{}` output (it has {}), which {} takes",
            other.command(),
            other.members_text(),
            other.option()
        ),
        None => {
            let keys: Vec<String> = members.keys().take(8).map(|k| format!("`{}`", clean(k))).collect();
            if keys.is_empty() {
                "it is an empty object".to_string()
            } else {
                format!(
                    "its top-level members are {}{}",
                    keys.join(", "),
                    if members.len() > 8 { ", …" } else { "" }
                )
            }
        }
    };
    Err(CliError::invalid(format!(
        "{name}: {} takes `{}` output, with {}; {found}",
        want.option(),
        want.command(),
        want.members_text()
    )))
}

/// Reads an AWS CLI output file and checks its kind ([`check_aws_doc`]).
fn read_aws_json(path: &PathBuf, want: AwsDoc) -> Result<String, CliError> {
    let text = read_text(path)?;
    check_aws_doc(&path.display().to_string(), &text, want)?;
    Ok(text)
}

fn load_config(path: &PathBuf) -> Result<Config, CliError> {
    Config::from_toml(&read_text(path)?).map_err(|e| CliError::invalid(format!("{}: {e}", path.display())))
}

fn print_json(v: &impl serde::Serialize) -> Result<(), CliError> {
    outln!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| CliError::internal(e.to_string()))?
    );
    Ok(())
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Demo {
            seed,
            scenario: DemoScenario::MultiAccount,
            output,
            ..
        } => {
            let report = pollster::block_on(fsxn_lattice_sim::multi_account::run_multi_account_demo(seed));
            match output {
                Output::Json => print_json(&report)?,
                Output::Text => {
                    outln!(
                        "fsxn-lattice demo — consumers in other accounts, in the simulated cloud (seed {})\n",
                        report.seed
                    );
                    for e in &report.timeline {
                        let time = e.t.get(11..19).unwrap_or(&e.t);
                        outln!("{time}  {:<13} {}", e.kind, e.message);
                    }
                    let held = report.checks.iter().filter(|(_, ok)| *ok).count();
                    outln!("\n{held} of {} checks hold", report.checks.len());
                }
            }
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Demo {
            seed,
            directory,
            output,
            ..
        } => {
            let report = pollster::block_on(run_seed_demo(DemoOptions {
                seed,
                fault_rate: 0.0,
                directory,
            }));
            match output {
                Output::Json => print_json(&report)?,
                Output::Text => print_demo(&report),
            }
            Ok(
                if report.final_state.endpoint_state == "available" && report.final_state.alias_target.is_some() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                },
            )
        }
        Command::Capacity {
            subnets,
            network_interfaces,
            cidr_reservations,
            vpc,
            subnet,
            aws,
            no_map,
            output,
        } => {
            let mut inputs: Vec<SubnetInputs> = match (subnets, network_interfaces) {
                (Some(subnets), Some(network_interfaces)) => {
                    let bad = |e: aws_json::InvalidCliJson| CliError::invalid(e.to_string());
                    let subnets_v = aws_json::parse_subnets(
                        &subnets.display().to_string(),
                        &read_aws_json(&subnets, AwsDoc::Subnets)?,
                    )
                    .map_err(bad)?;
                    let enis = aws_json::parse_network_interfaces(
                        &network_interfaces.display().to_string(),
                        &read_aws_json(&network_interfaces, AwsDoc::NetworkInterfaces)?,
                    )
                    .map_err(bad)?;
                    let mut reservations = Vec::new();
                    for r in &cidr_reservations {
                        reservations.extend(
                            aws_json::parse_cidr_reservations(
                                &r.display().to_string(),
                                &read_aws_json(r, AwsDoc::CidrReservations)?,
                            )
                            .map_err(bad)?,
                        );
                    }
                    subnets_v
                        .into_iter()
                        .map(|s| SubnetInputs {
                            network_interfaces: enis.iter().filter(|e| e.subnet_id == s.id).cloned().collect(),
                            reservations: reservations.iter().filter(|r| r.subnet_id == s.id).cloned().collect(),
                            subnet: s,
                        })
                        .collect()
                }
                _ if vpc.is_some() || !subnet.is_empty() => live::capacity(vpc.as_deref(), &subnet, &aws)?,
                _ => {
                    return Err(CliError::invalid(
                        "give --subnets and --network-interfaces files, or --vpc / --subnet for live data",
                    ));
                }
            };
            inputs.sort_by(|a, b| a.subnet.id.cmp(&b.subnet.id));
            let reports: Vec<SubnetCapacity> = inputs
                .iter()
                .map(|i| analyze_subnet(&i.subnet, &i.network_interfaces, &i.reservations))
                .collect();
            match output {
                Output::Json => {
                    let subnets: Vec<_> = reports
                        .iter()
                        .map(|r| {
                            json!({
                                "subnet_id": r.subnet_id, "availability_zone": r.availability_zone, "cidr": r.cidr,
                                "free_addresses": r.free_addresses, "candidate_blocks": r.candidate_blocks,
                                "free_prefix_blocks": r.free_prefix_blocks,
                                "free_blocks_in_prefix_reservations": r.free_blocks_in_prefix_reservations,
                                "can_host_gateway_eni": r.can_host_gateway_eni(), "reason": r.reason(),
                                "blocked": r.blocked,
                            })
                        })
                        .collect();
                    print_json(&json!({ "subnets": subnets }))?;
                }
                Output::Text => {
                    let maps = !no_map && std::io::stdout().is_terminal();
                    print_capacity(&reports, maps.then_some(inputs.as_slice()))
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ExplainEvent { file, output } => {
            let input = decode_input(&read(&file)?)?;
            match output {
                // An event's trigger prints as before (its fields in their declared order).
                Output::Json => match &input {
                    Input::Event(trigger) => print_json(trigger)?,
                    Input::Step(_) => print_json(&input.to_json())?,
                },
                Output::Text => outln!("{}", input.explain()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Chaos {
            seed,
            seeds,
            runs,
            fault_rate,
            output,
        } => {
            if !(0.0..=1.0).contains(&fault_rate) {
                return Err(CliError::invalid(format!(
                    "--fault-rate {fault_rate}: must be between 0 and 1"
                )));
            }
            if runs == 0 || seeds == 0 {
                return Err(CliError::invalid("--runs and --seeds must be at least 1"));
            }
            if seed.checked_add(u64::from(seeds)).is_none() {
                return Err(CliError::invalid("--seed + --seeds overflows"));
            }
            let started = std::time::Instant::now();
            let report = fsxn_lattice_sim::chaos::run_campaign(fsxn_lattice_sim::chaos::ChaosOptions {
                seed,
                seeds,
                runs,
                fault_rate,
            });
            match output {
                Output::Json => print_json(&report)?,
                Output::Text => {
                    for line in &report.timeline {
                        outln!("{line}");
                    }
                    outln!(
                        "seeds {}..={} at fault rate {}: {} run(s) ({} with Active Directory, {} with consumers in other accounts, {} with a service-network consumer, {} with a custom-domain consumer) in {:.1} s: {} converged, {} failed; {} orphan(s), {} duplicate(s), {} missing or wrong, {} foreign resource(s) touched",
                        report.seed_range[0],
                        report.seed_range[1],
                        report.fault_rate,
                        report.runs,
                        report.directory_worlds,
                        report.account_worlds,
                        report.network_worlds,
                        report.custom_domain_worlds,
                        started.elapsed().as_secs_f64(),
                        report.converged,
                        report.failed_runs,
                        report.orphans,
                        report.duplicates,
                        report.wrong,
                        report.foreign_touched,
                    );
                    outln!(
                        "passes to converge (faults on, budget {}): p50 {} p99 {} max {}; invocations p50 {} p99 {} max {}",
                        report.pass_budget,
                        report.passes_to_converge.p50,
                        report.passes_to_converge.p99,
                        report.passes_to_converge.max,
                        report.invocations_to_converge.p50,
                        report.invocations_to_converge.p99,
                        report.invocations_to_converge.max,
                    );
                    let kinds: Vec<String> = report.faults.iter().map(|(k, n)| format!("{k} {n}")).collect();
                    outln!(
                        "{} API calls; {} faults ({}); {} sandboxes killed between actions, {} killed mid-call; {} races; events delivered {}, dropped {}, duplicated {}, delayed {}",
                        report.api_calls,
                        report.faults_injected,
                        kinds.join(", "),
                        report.crashes_injected,
                        report.dropped_mid_call,
                        report.races,
                        report.events.delivered,
                        report.events.dropped,
                        report.events.duplicated,
                        report.events.delayed
                    );
                    let lambda: Vec<String> = report.lambda_faults.iter().map(|(k, n)| format!("{k} {n}")).collect();
                    let failed_by: Vec<String> = report
                        .executions_failed_by
                        .iter()
                        .map(|(k, n)| format!("{k} {n}"))
                        .collect();
                    outln!(
                        "{} Step Functions executions ({} failed: {}; caught up by the schedule); {} Lambda invocations; {} Lambda faults ({})",
                        report.executions,
                        report.executions_failed,
                        if failed_by.is_empty() {
                            "none".to_string()
                        } else {
                            failed_by.join(", ")
                        },
                        report.lambda_invocations,
                        report.lambda_faults.values().sum::<u64>(),
                        lambda.join(", ")
                    );
                    for f in &report.failures {
                        outln!("FAILED seed {}: {} (replay: {})", f.seed, f.what, f.replay);
                    }
                    if report.failures.len() < report.failed_runs as usize {
                        outln!(
                            "… and {} more failed run(s)",
                            report.failed_runs as usize - report.failures.len()
                        );
                    }
                }
            }
            Ok(if report.clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Doctor {
            config,
            aws,
            stack,
            lookback_hours,
            simulated,
            seed,
            output,
        } => {
            let config = config.as_ref().map(load_config).transpose()?;
            let mut options = GatherOptions::new(aws.region.clone().unwrap_or_default(), stack, lookback_hours)
                .map_err(|e| CliError::invalid(e.to_string()))?;
            let (config, observed, audit, directory) = match simulated {
                Some(world) => {
                    let stage = match world {
                        SimulatedWorld::Failed => SeedStage::Failed,
                        SimulatedWorld::Healed => SeedStage::Healed,
                    };
                    let (cloud, seed_config) = pollster::block_on(seed_doctor_world(seed, stage));
                    let config = config.unwrap_or(seed_config);
                    options.region = cloud.region();
                    let (observed, audit) = pollster::block_on(gather(&cloud, &cloud, &config, &options));
                    (config, observed, audit, Vec::new())
                }
                None => {
                    let config = config.ok_or_else(|| CliError::invalid("--config is required against AWS"))?;
                    let reads = live::doctor(&config, &aws, options)?;
                    (config, reads.observed, reads.audit, reads.directory)
                }
            };
            let mut checks = diagnose(&config, &observed, &audit);
            checks.extend(directory);
            let (pass, warn, fail) = doctor::summary(&checks);
            match output {
                Output::Json => print_json(&json!({
                    "region": audit.region,
                    "owner": config.owner,
                    "simulated": simulated.is_some(),
                    "checks": checks,
                    "summary": {"pass": pass, "warn": warn, "fail": fail},
                }))?,
                Output::Text => {
                    outln!(
                        "fsxn-lattice doctor — {}{}, owner {} (read-only: nothing is changed)\n",
                        audit.region,
                        if simulated.is_some() {
                            format!(" in the simulated cloud (seed {seed})")
                        } else {
                            String::new()
                        },
                        config.owner
                    );
                    out!("{}", doctor::render_text(&checks));
                }
            }
            Ok(if fail == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Plan { config, aws, output } => {
            let config = load_config(&config)?;
            let plan = live::plan(&config, &aws)?;
            match output {
                Output::Json => print_json(&plan)?,
                Output::Text => print_plan(&plan),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply {
            config,
            aws,
            yes,
            max_wait,
            output,
        } => {
            let config = load_config(&config)?;
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(CliError::invalid(
                        "stdin is not a terminal: pass --yes to apply without confirmation",
                    ));
                }
                let plan = live::plan(&config, &aws)?;
                print_plan(&plan);
                if plan.actions.is_empty() {
                    outln!("\nNothing to apply.");
                    return Ok(ExitCode::SUCCESS);
                }
                eprint!("\nApply these {} action(s)? Type yes: ", plan.actions.len());
                let mut answer = String::new();
                std::io::stdin()
                    .read_line(&mut answer)
                    .map_err(|e| CliError::invalid(format!("stdin: {e}")))?;
                if answer.trim() != "yes" {
                    eprintln!("Not applied.");
                    return Ok(ExitCode::from(1));
                }
            }
            let json_out = output == Output::Json;
            // A progress line on stderr while AWS works (nothing on a pipe or with --output json).
            let spinner = spinner::Spinner::new(
                spinner::wanted(
                    json_out,
                    std::io::stdout().is_terminal(),
                    std::io::stderr().is_terminal(),
                ),
                "pass 1: reading the account",
            );
            // From here on AWS changes: a closed stdout must not abandon the apply half done.
            let report = out::keep_going(|| {
                live::apply(&config, &aws, Duration::from_secs(max_wait), &mut |p| {
                    if json_out {
                        return;
                    }
                    let line = spinner::message(&p);
                    spinner.suspend(|| match p {
                        Progress::Applied { applied, .. } => {
                            outln!(
                                "applied  {} — {:?} (why: {})",
                                applied.action.action.summary(),
                                applied.outcome,
                                applied.action.why
                            )
                        }
                        Progress::Waiting { seconds, what, .. } => outln!("waiting  {seconds} s: {}", what.join("; ")),
                        Progress::Planned { .. } => {}
                    });
                    spinner.set(line);
                })
            });
            spinner.finish();
            let report = report?;
            match output {
                Output::Json => print_json(&report)?,
                Output::Text => {
                    outln!(
                        "\n{:?} after {} pass(es), {} action(s) applied",
                        report.status,
                        report.passes,
                        report.applied.len()
                    );
                    if let Some(e) = &report.error {
                        outln!("error: {e}");
                    }
                    print_plan_notes(&report.last_plan);
                }
            }
            Ok(if report.status == ReconcileStatus::Converged {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn print_plan(plan: &Plan) {
    if plan.actions.is_empty() {
        outln!("No changes.");
    }
    for (i, a) in plan.actions.iter().enumerate() {
        outln!("{:>3}. {}\n     why: {}", i + 1, a.action.summary(), a.why);
    }
    print_plan_notes(plan);
}

fn print_plan_notes(plan: &Plan) {
    for w in &plan.waiting {
        outln!("waiting: {w}");
    }
    for r in &plan.refusals {
        outln!("refused: {} ({}): {}", r.subject, r.kind, r.reason);
    }
    for w in &plan.warnings {
        outln!("warning: {w}");
    }
    for h in &plan.held_for_directory {
        outln!("held for the Directory function: {h}");
    }
    for h in &plan.held_for_accounts {
        outln!("held (account): {h}");
    }
    for d in &plan.diagnoses {
        outln!(
            "capacity: {} {} {}: {}",
            d.subnet_id,
            d.availability_zone,
            d.cidr,
            d.reason()
                .unwrap_or_else(|| format!("{} free aligned /28", d.free_prefix_blocks.len()))
        );
    }
    for m in &plan.manual_steps {
        outln!("manual step: {}", m.instruction);
    }
}

/// What `explain-event` was given, decoded as the functions decode their payload
/// ([`step::decode`]): an EventBridge event, or a Step Functions input.
enum Input {
    /// An EventBridge event (it has `detail-type`) and the trigger it makes.
    Event(Trigger),
    /// An object without `detail-type`: what the state machine hands a task.
    Step(StepInput),
}

/// A Step Functions input: a task's payload (events/step-input-poll.json is the one every poll
/// sends), or a whole state of the execution, whose tasks get its `event` member as payload
/// (`"Payload.$": "$.event"` in statemachine/fsxn-lattice.asl.json).
struct StepInput {
    /// For a state: its `polls` and `heal_attempts` counters, and the payload its tasks get.
    state: Option<(Option<u64>, Option<u64>, Box<Input>)>,
    /// Members neither the functions nor the state machine read (a payload's are all unread).
    unread: Vec<String>,
}

/// The members of a state of the state machine (its Init, Count* and ResetForHeal states).
const STATE_MEMBERS: [&str; 4] = ["event", "polls", "heal_attempts", "limits"];

fn decode_input(bytes: &[u8]) -> Result<Input, CliError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| CliError::invalid(format!("invalid event: not JSON: {e}")))?;
    decode_value(&value, true)
}

fn decode_value(value: &Value, top: bool) -> Result<Input, CliError> {
    let invalid = |m: String| {
        CliError::invalid(if m.starts_with("invalid event") {
            m
        } else {
            format!("invalid event: {m}")
        })
    };
    if let Some(trigger) = step::decode(value).map_err(|e| invalid(e.message))? {
        return Ok(Input::Event(trigger));
    }
    let Value::Object(members) = value else {
        return Err(invalid("expected an object".into()));
    };
    let state = match members.get("event") {
        Some(event) if top => {
            if !event.is_object() {
                return Err(invalid(
                    "a Step Functions state's `event` is the payload of its tasks: it must be an object".into(),
                ));
            }
            let counter = |k: &str| members.get(k).and_then(Value::as_u64);
            Some((
                counter("polls"),
                counter("heal_attempts"),
                Box::new(decode_value(event, false)?),
            ))
        }
        _ => None,
    };
    let unread = members
        .keys()
        .filter(|k| state.is_none() || !STATE_MEMBERS.contains(&k.as_str()))
        .map(|k| clean(k))
        .collect();
    Ok(Input::Step(StepInput { state, unread }))
}

impl Input {
    fn to_json(&self) -> Value {
        match self {
            Self::Event(t) => serde_json::to_value(t).unwrap_or(Value::Null),
            Self::Step(s) => match &s.state {
                Some((polls, heal_attempts, payload)) => json!({
                    "input": "step_functions_state",
                    "trigger": null,
                    "polls": polls,
                    "heal_attempts": heal_attempts,
                    "payload": payload.to_json(),
                    "unread": s.unread,
                }),
                None => json!({
                    "input": "step_functions_input",
                    "trigger": null,
                    "scopes": Function::ALL
                        .iter()
                        .map(|f| (function_name(*f), json!(f.scope())))
                        .collect::<serde_json::Map<_, _>>(),
                    "unread": s.unread,
                }),
            },
        }
    }

    fn explain(&self) -> String {
        let s = match self {
            Self::Event(t) => return explain(t),
            Self::Step(s) => s,
        };
        let unread = if s.unread.is_empty() {
            String::new()
        } else {
            format!(
                "\nNote: not read by the functions: {}. An EventBridge event needs `detail-type`.",
                s.unread.join(", ")
            )
        };
        match &s.state {
            Some((polls, heal_attempts, payload)) => {
                let count = |c: &Option<u64>| c.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
                format!(
                    "step_functions_state: a state of a Step Functions execution (polls {}, heal attempts {}), not an EventBridge event; its Lambda tasks get its `event` as their payload:\n{}{unread}",
                    count(polls),
                    count(heal_attempts),
                    payload.explain()
                )
            }
            None => {
                let scopes: Vec<String> = Function::ALL
                    .iter()
                    .map(|f| format!("{} → {}", function_name(*f), json!(f.scope()).as_str().unwrap_or("?")))
                    .collect();
                format!(
                    "step_functions_input: a Step Functions task payload, not an EventBridge event (no `detail-type`): it names no trigger.\n\
                     Action: the function that gets it re-reads the world and reconciles its whole scope, whatever started the execution ({}).{unread}",
                    scopes.join(", ")
                )
            }
        }
    }
}

/// A function's name as the functions' outputs spell it (`publish-alias`).
fn function_name(f: Function) -> String {
    json!(f).as_str().unwrap_or("?").to_string()
}

fn explain(t: &Trigger) -> String {
    match t {
        Trigger::GatewayCapacityExhausted {
            subnet_id,
            network_interface_id,
            gateway_id,
            event_name,
            error_code,
            error_message,
            event_time,
        } => {
            let place = match (subnet_id, network_interface_id) {
                (Some(s), _) => format!("subnet {s}"),
                (None, Some(e)) => format!("the subnet of {e}"),
                (None, None) => "an unnamed subnet".into(),
            };
            let (event_name, event_time, error_code, error_message) = (
                clean(event_name),
                clean(event_time),
                clean(error_code),
                clean(error_message),
            );
            format!(
                "gateway_capacity_exhausted: {event_name} failed at {event_time} with {error_code} (\"{error_message}\") in {place}{}.\n\
                 Action: re-read the gateway(s) using {place} and analyse the aligned /28 capacity of their subnets. If they still have a free /28, \
                 reserve it (prefix CIDR reservation) and re-create the failed endpoint; if not, reserve a /28 elsewhere or carve a subnet, and replace \
                 the gateway and its configuration (subnets are immutable), keeping any serving endpoint until its replacement is available.",
                gateway_id
                    .as_ref()
                    .map(|g| format!(" for resource gateway {g}"))
                    .unwrap_or_default()
            )
        }
        Trigger::FsxChanged {
            event_name,
            file_system_id,
            svm_id,
            ..
        } => format!(
            "fsx_changed: {} on {}{}.\nAction: re-read the file system and its SVMs (tags included) and reconcile their gateways, configurations, endpoints and aliases.",
            clean(event_name),
            file_system_id
                .as_ref()
                .map(|f| f.to_string())
                .unwrap_or_else(|| "?".into()),
            svm_id.as_ref().map(|s| format!(" / {s}")).unwrap_or_default()
        ),
        Trigger::ReconcileAll { reason } => {
            format!(
                "reconcile_all: {}.\nAction: reconcile every exposed SVM (catches lost or late events).",
                clean(reason)
            )
        }
        Trigger::Ignored { reason } => format!("ignored: {}.\nAction: none.", clean(reason)),
    }
}

/// The table, then each subnet's reason or free blocks; with `maps` (the inputs of `reports`, in
/// the same order), each subnet's map under its line and the legend at the end.
fn print_capacity(reports: &[SubnetCapacity], maps: Option<&[SubnetInputs]>) {
    outln!(
        "{:<26} {:<11} {:<18} {:>5} {:>10} {:>5} {:>9}  gateway ENI",
        "SUBNET",
        "AZ",
        "CIDR",
        "FREE",
        "CANDIDATES",
        "FREE/28",
        "RESERVED"
    );
    for r in reports {
        outln!(
            "{:<26} {:<11} {:<18} {:>5} {:>10} {:>7} {:>9}  {}",
            r.subnet_id.as_str(),
            r.availability_zone,
            r.cidr.to_string(),
            r.free_addresses,
            r.candidate_blocks,
            r.free_prefix_blocks.len(),
            r.free_blocks_in_prefix_reservations.len(),
            if r.can_host_gateway_eni() { "fits" } else { "NO" }
        );
    }
    for (i, r) in reports.iter().enumerate() {
        match r.reason() {
            Some(reason) => outln!("\n{}: {reason}", r.subnet_id),
            None => outln!(
                "\n{}: free /28 blocks: {}",
                r.subnet_id,
                r.free_prefix_blocks
                    .iter()
                    .take(8)
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
                    + if r.free_prefix_blocks.len() > 8 { ", …" } else { "" }
            ),
        }
        if let Some(inputs) = maps.and_then(|m| m.get(i)) {
            out!("{}", map::render(inputs, r));
        }
    }
    if maps.is_some() && !reports.is_empty() {
        outln!("\n{}", map::LEGEND);
    }
}

fn print_demo(r: &DemoReport) {
    outln!(
        "fsxn-lattice demo — the seed scenario in the simulated cloud (seed {})\n",
        r.seed
    );
    for e in &r.timeline {
        let time = e.t.get(11..19).unwrap_or(&e.t);
        outln!("{time}  {:<11} {}", e.kind, e.message);
    }
    let f = &r.final_state;
    outln!("\nResult");
    outln!(
        "  endpoint        {} ({})",
        f.endpoint_id.as_deref().unwrap_or("-"),
        f.endpoint_state
    );
    outln!("  endpoint DNS    {}", f.endpoint_dns_name.as_deref().unwrap_or("-"));
    outln!(
        "  alias           {} → {}",
        f.alias_fqdn,
        f.alias_target.as_deref().unwrap_or("-")
    );
    outln!("  gateway         {}", f.gateway_id.as_deref().unwrap_or("-"));
    for s in &f.gateway_subnets {
        outln!(
            "    {} {} {}: {} addresses consumed (prefix {}), {} free now",
            s.subnet_id,
            s.availability_zone,
            s.cidr,
            s.addresses_consumed,
            s.prefixes.join(","),
            s.free_addresses
        );
    }
    outln!(
        "  leftovers       {} resource(s) of the failed attempt",
        f.leftover_failed_resources
    );
    outln!(
        "  reconciles      {}, API calls {}",
        f.reconciles,
        f.api_calls.values().sum::<u64>()
    );
}
