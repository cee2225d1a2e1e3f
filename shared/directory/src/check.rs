//! Doctor checks for the directory: DC reachable, TLS verifies, bind works, computer object
//! exists, the alias's SPNs free or ours, the zone writable and the alias name free or ours.
//! Read-only: nothing is written.

use crate::directory::{AliasOwner, Directory};
use crate::error::DirectoryErrorKind as K;
use crate::names::{ATTR_ADDITIONAL_DNS, ATTR_SPN, AliasValues, SpnRecord, alias_fqdn};
use crate::settings::{Credentials, DirectorySettings};
use fsxn_lattice_core::doctor::{Check, Status};

/// The area of every check here.
pub const AREA: &str = "directory";

/// What to check beyond the connection.
#[derive(Debug, Clone, Default)]
pub struct CheckTarget {
    /// The SVM's NetBIOS name.
    pub computer: Option<String>,
    /// The alias FQDN.
    pub alias: Option<String>,
    /// The AD-integrated zone the alias goes in.
    pub zone: Option<String>,
    /// Who the alias record belongs to.
    pub owner: Option<AliasOwner>,
    /// What we added earlier (values in it count as ours).
    pub record: Option<SpnRecord>,
}

/// The fix of an unreachable DC. The checks run where the caller runs: the Directory function
/// runs in `DirectorySubnetIds`, and a DC it reaches may be out of reach of an operator's
/// laptop running `fsxn-lattice doctor`.
const UNREACHABLE_FIX: &str = "check the DC names/addresses, the security groups and the route to the DCs (TCP 636 or 389, and 3269); the DC must be reachable from where this check runs: the Directory function runs in DirectorySubnetIds, and a laptop outside the VPC may not reach a DC (run the doctor from a host in those subnets)";

fn c(subject: &str, status: Status, message: impl Into<String>, fix: Option<&str>) -> Check {
    Check {
        area: AREA.to_string(),
        subject: subject.to_string(),
        status,
        message: message.into(),
        fix: fix.map(str::to_string),
    }
}

/// Runs the checks in order; a failed stage stops the ones that depend on it (they are not
/// reported as passing).
pub async fn check(settings: &DirectorySettings, creds: &Credentials, target: &CheckTarget) -> Vec<Check> {
    let mut out = Vec::new();
    let dir = match Directory::connect(settings, creds).await {
        Ok(d) => d,
        Err(e) => {
            let (reach, tls) = match e.kind {
                K::Unreachable | K::Busy => (false, false),
                K::UntrustedCertificate => (true, false),
                K::InvalidCredentials | K::InsufficientRights => (true, true),
                _ => (false, false),
            };
            if !reach {
                out.push(c("dc reachable", Status::Fail, e.to_string(), Some(UNREACHABLE_FIX)));
            } else {
                out.push(c("dc reachable", Status::Pass, "a domain controller answered", None));
                if !tls {
                    out.push(c(
                        "tls",
                        Status::Fail,
                        e.to_string(),
                        Some("give the CA bundle that issued the DC's certificate (tls.ca_bundle_pem)"),
                    ));
                } else {
                    out.push(c("tls", Status::Pass, "the DC's certificate verifies", None));
                    out.push(c(
                        "bind",
                        Status::Fail,
                        e.to_string(),
                        Some("check the user name and password in the secret, and that the account is enabled"),
                    ));
                }
            }
            return out;
        }
    };
    let dc = dir.controller().to_string();
    out.push(c("dc reachable", Status::Pass, format!("{dc} answered"), None));
    out.push(c(
        "tls",
        Status::Pass,
        if settings.tls.insecure_skip_verify {
            "TLS up, certificate NOT verified (insecure_skip_verify)".to_string()
        } else {
            format!("{dc}'s certificate verifies")
        },
        None,
    ));
    out.push(c(
        "bind",
        Status::Pass,
        format!("bound as {} to {}", creds.username, dir.default_naming_context()),
        None,
    ));
    match dir.global_catalog() {
        (true, _) => out.push(c(
            "global catalog",
            Status::Pass,
            "SPN holders are searched forest-wide",
            None,
        )),
        (false, note) => out.push(c(
            "global catalog",
            Status::Warn,
            note.unwrap_or("global catalog not used: SPN holders searched in this domain only"),
            None,
        )),
    }
    let values = match target.alias.as_deref().map(AliasValues::for_alias) {
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => {
            out.push(c("alias", Status::Fail, e.to_string(), None));
            None
        }
        None => None,
    };
    if let Some(name) = &target.computer {
        match dir.find_computer(name).await {
            Err(e) => out.push(c(
                "computer object",
                Status::Fail,
                e.to_string(),
                Some("join the SVM to the domain, or fix its NetBIOS name"),
            )),
            Ok(comp) => {
                out.push(c("computer object", Status::Pass, comp.dn.clone(), None));
                let writable = dir.writable_attributes(&comp.dn).await.unwrap_or_default();
                for attr in [ATTR_SPN, ATTR_ADDITIONAL_DNS] {
                    let ok = writable.iter().any(|a| a.eq_ignore_ascii_case(attr));
                    out.push(c(
                        &format!("write {attr}"),
                        if ok { Status::Pass } else { Status::Warn },
                        if ok {
                            format!("the account may write {attr} on {}", comp.dn)
                        } else {
                            format!("{attr} is not in allowedAttributesEffective of {} (a validated write may still allow it)", comp.dn)
                        },
                        (!ok).then_some("delegate: Validated write to service principal name and write msDS-AdditionalDnsHostName on the computer object"),
                    ));
                }
                if let Some(v) = &values {
                    for (sv, attr, value) in v.all() {
                        let subject = format!("{attr} {value}");
                        match dir.holders(attr, value, &comp.dn).await {
                            Err(e) => out.push(c(&subject, Status::Warn, format!("could not search: {e}"), None)),
                            Ok(h) if !h.is_empty() => out.push(c(
                                &subject,
                                Status::Fail,
                                format!("held by {}", h.join(", ")),
                                Some(
                                    "remove it from that account or choose another alias: fsxn-lattice never takes it",
                                ),
                            )),
                            Ok(_) => {
                                let on_ours = if attr == ATTR_SPN {
                                    &comp.spns
                                } else {
                                    &comp.additional_dns_host_names
                                }
                                .iter()
                                .any(|x| x.eq_ignore_ascii_case(value));
                                let recorded = target.record.as_ref().is_some_and(|r| r.added.contains(&sv));
                                let msg = match (on_ours, recorded) {
                                    (true, true) => "present, added by fsxn-lattice",
                                    (true, false) => "present, set by someone else (kept, never removed)",
                                    (false, _) => "free",
                                };
                                out.push(c(&subject, Status::Pass, msg, None));
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(zone) = &target.zone {
        match dir.find_zone(zone).await {
            Err(e) => out.push(c(
                "zone",
                Status::Fail,
                e.to_string(),
                Some("use the AD-integrated zone the clients resolve the alias in"),
            )),
            Ok(zone_dn) => {
                let ok = dir.can_create_nodes(&zone_dn).await.unwrap_or(false);
                out.push(c(
                    "zone writable",
                    if ok { Status::Pass } else { Status::Fail },
                    if ok {
                        format!("may create dnsNode objects in {zone_dn}")
                    } else {
                        format!("may not create dnsNode objects in {zone_dn}")
                    },
                    (!ok).then_some("delegate: Create/Delete dnsNode objects on the zone container"),
                ));
                if let (Some(alias), Some(owner)) = (&target.alias, &target.owner) {
                    match alias_fqdn(alias) {
                        Err(e) => out.push(c("alias record", Status::Fail, e.to_string(), None)),
                        Ok(fqdn) => match dir.alias_state(zone, &fqdn, owner).await {
                            Ok(s) => out.push(c(
                                "alias record",
                                if s.starts_with("not ours") {
                                    Status::Fail
                                } else {
                                    Status::Pass
                                },
                                format!("{fqdn}: {s}"),
                                None,
                            )),
                            Err(e) => out.push(c("alias record", Status::Fail, e.to_string(), None)),
                        },
                    }
                }
            }
        }
    }
    dir.close().await;
    out
}
