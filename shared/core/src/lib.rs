//! The pure core of fsxn-lattice: it decides what must exist in AWS so that a Multi-AZ FSx for
//! NetApp ONTAP SVM is reachable from other VPCs through VPC Lattice, and why.
//!
//! No AWS SDK and no async runtime: everything that talks to AWS goes through the [`ports`]
//! traits, implemented by `fsxn-lattice-aws` (the SDK) and `fsxn-lattice-sim` (the simulated
//! cloud).
//!
//! # Layout
//!
//! - [`ids`], [`model`]: AWS's nouns as our own types.
//! - [`capacity`]: aligned /28 analysis of subnets, and carving a free CIDR.
//! - [`events`]: EventBridge events → [`events::Trigger`] (what to re-read).
//! - [`config`], [`desired`]: the config file and tags → [`desired::Desired`].
//! - [`naming`]: deterministic names, client tokens, ownership tags and records.
//! - [`observe`]: reading the world through the ports → [`observe::Observed`].
//! - [`plan`]: `plan(config, desired, observed)`, pure and deterministic; its parts are
//!   `plan/gateways.rs` (placement, /28 capacity, reservations, carving, routing),
//!   `plan/exposure.rs` (configurations and endpoints), `plan/dns.rs` (alias records, the
//!   Kerberos step) and `plan/cleanup.rs` (teardown in order).
//! - [`directory`]: Active Directory as the planner sees it (SPNs, AD DNS, the SPN record).
//! - [`ports`], [`apply`], [`reconcile`]: carrying a plan out, idempotently.
//! - [`audit`], [`doctor`]: the read-only account port and the doctor's checks.
//! - [`step`]: one function's scoped reconcile as a Lambda runs it, shared by the Lambdas, the
//!   demo and the simulation's Step Functions executions.
//! - [`error`]: error kinds whose names are a stable API.
//! - [`time`]: RFC 3339 formatting without a clock.

pub mod apply;
pub mod audit;
pub mod capacity;
pub mod concurrency;
pub mod config;
pub mod desired;
pub mod directory;
pub mod doctor;
pub mod error;
pub mod events;
pub mod ids;
pub mod model;
pub mod naming;
pub mod observe;
pub mod plan;
pub mod ports;
pub mod reconcile;
pub mod step;
pub mod time;
