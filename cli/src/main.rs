//! `fsxn-lattice`: run the seed scenario in the simulated cloud, analyse /28 capacity offline,
//! and explain what an EventBridge event would make the project do.
//!
//! Exit codes: 0 success, 1 the command ran but the result is a failure (e.g. the demo did not
//! converge), 2 bad input (a typed `InvalidInput` error; nothing was changed).

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use fsxn_lattice_core::aws_json;
use fsxn_lattice_core::capacity::{SubnetCapacity, analyze_subnet};
use fsxn_lattice_core::events::{Trigger, parse_event};
use fsxn_lattice_sim::scenario::{DemoOptions, DemoReport, run_seed_demo};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

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

#[derive(Subcommand)]
enum Command {
    /// Run the seed scenario end to end in the simulated cloud.
    Demo {
        /// Seed of the simulated cloud (same seed, same run).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Analyse the aligned /28 capacity of subnets from AWS CLI JSON, offline.
    Capacity {
        /// `aws ec2 describe-subnets` output.
        #[arg(long)]
        subnets: PathBuf,
        /// `aws ec2 describe-network-interfaces` output.
        #[arg(long = "network-interfaces")]
        network_interfaces: PathBuf,
        /// `aws ec2 get-subnet-cidr-reservations` output (one file per subnet; repeatable).
        #[arg(long = "cidr-reservations")]
        cidr_reservations: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Say what the project would do with an EventBridge event (a JSON file, or - for stdin).
    ExplainEvent {
        /// The event.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
}

/// Bad input: reported as `{"error": {"type": "InvalidInput", "message": …}}` and exit code 2.
struct InvalidInput(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = match &cli.command {
        Command::Demo { output, .. } | Command::Capacity { output, .. } | Command::ExplainEvent { output, .. } => {
            *output
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let (kind, message, code) = match e.downcast::<InvalidInputError>() {
                Ok(InvalidInputError(m)) => ("InvalidInput", m, 2),
                Err(e) => ("Internal", format!("{e:#}"), 1),
            };
            if output == Output::Json {
                println!("{}", json!({"error": {"type": kind, "message": message}}));
            } else {
                eprintln!("error ({kind}): {message}");
            }
            ExitCode::from(code)
        }
    }
}

#[derive(Debug)]
struct InvalidInputError(String);
impl std::fmt::Display for InvalidInputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for InvalidInputError {}

impl From<InvalidInput> for anyhow::Error {
    fn from(e: InvalidInput) -> Self {
        anyhow::Error::new(InvalidInputError(e.0))
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, InvalidInput> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map_err(|e| InvalidInput(format!("stdin: {e}")))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| InvalidInput(format!("{}: {e}", path.display())))
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo { seed, output } => {
            let report = pollster::block_on(run_seed_demo(DemoOptions { seed, fault_rate: 0.0 }));
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
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
            output,
        } => {
            let text = |p: &PathBuf| -> Result<String, InvalidInput> {
                String::from_utf8(read(p)?).map_err(|_| InvalidInput(format!("{}: not UTF-8", p.display())))
            };
            let bad = |e: aws_json::InvalidCliJson| InvalidInput(e.to_string());
            let subnets_v = aws_json::parse_subnets(&subnets.display().to_string(), &text(&subnets)?).map_err(bad)?;
            let enis = aws_json::parse_network_interfaces(
                &network_interfaces.display().to_string(),
                &text(&network_interfaces)?,
            )
            .map_err(bad)?;
            let mut reservations = Vec::new();
            for r in &cidr_reservations {
                reservations
                    .extend(aws_json::parse_cidr_reservations(&r.display().to_string(), &text(r)?).map_err(bad)?);
            }
            let mut reports: Vec<SubnetCapacity> = subnets_v
                .iter()
                .map(|s| analyze_subnet(s, &enis, &reservations))
                .collect();
            reports.sort_by(|a, b| a.subnet_id.cmp(&b.subnet_id));
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
                    println!("{}", serde_json::to_string_pretty(&json!({ "subnets": subnets }))?);
                }
                Output::Text => print_capacity(&reports),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ExplainEvent { file, output } => {
            let bytes = read(&file)?;
            let trigger = parse_event(&bytes).map_err(|e| InvalidInput(e.to_string()))?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&trigger)?),
                Output::Text => println!("{}", explain(&trigger)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
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
            "fsx_changed: {event_name} on {}{}.\nAction: re-read the file system and its SVMs (tags included) and reconcile their gateways, configurations, endpoints and aliases.",
            file_system_id
                .as_ref()
                .map(|f| f.to_string())
                .unwrap_or_else(|| "?".into()),
            svm_id.as_ref().map(|s| format!(" / {s}")).unwrap_or_default()
        ),
        Trigger::ReconcileAll { reason } => {
            format!("reconcile_all: {reason}.\nAction: reconcile every exposed SVM (catches lost or late events).")
        }
        Trigger::Ignored { reason } => format!("ignored: {reason}.\nAction: none."),
    }
}

fn print_capacity(reports: &[SubnetCapacity]) {
    println!(
        "{:<26} {:<11} {:<18} {:>5} {:>10} {:>5} {:>9}  gateway ENI",
        "SUBNET", "AZ", "CIDR", "FREE", "CANDIDATES", "FREE/28", "RESERVED"
    );
    for r in reports {
        println!(
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
    for r in reports {
        match r.reason() {
            Some(reason) => println!("\n{}: {reason}", r.subnet_id),
            None => println!(
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
    }
}

fn print_demo(r: &DemoReport) {
    println!(
        "fsxn-lattice demo — the seed scenario in the simulated cloud (seed {})\n",
        r.seed
    );
    for e in &r.timeline {
        let time = e.t.get(11..19).unwrap_or(&e.t);
        println!("{time}  {:<11} {}", e.kind, e.message);
    }
    let f = &r.final_state;
    println!("\nResult");
    println!(
        "  endpoint        {} ({})",
        f.endpoint_id.as_deref().unwrap_or("-"),
        f.endpoint_state
    );
    println!("  endpoint DNS    {}", f.endpoint_dns_name.as_deref().unwrap_or("-"));
    println!(
        "  alias           {} → {}",
        f.alias_fqdn,
        f.alias_target.as_deref().unwrap_or("-")
    );
    println!("  gateway         {}", f.gateway_id.as_deref().unwrap_or("-"));
    for s in &f.gateway_subnets {
        println!(
            "    {} {} {}: {} addresses consumed (prefix {}), {} free now",
            s.subnet_id,
            s.availability_zone,
            s.cidr,
            s.addresses_consumed,
            s.prefixes.join(","),
            s.free_addresses
        );
    }
    println!(
        "  leftovers       {} resource(s) of the failed attempt",
        f.leftover_failed_resources
    );
    println!(
        "  reconciles      {}, API calls {}",
        f.reconciles,
        f.api_calls.values().sum::<u64>()
    );
}
