//! Active Directory for fsxn-lattice: what Kerberos over the alias needs on the directory side,
//! written over LDAP (LDAPS or StartTLS; never plain LDAP, since the bind sends a password).
//! Opt-in, for self-managed AD and AWS Managed Microsoft AD. No AWS SDK here: the caller fetches
//! the bind secret (Secrets Manager) and hands it over as [`Credentials`], whose `Debug`
//! redacts the password; nothing in this crate logs it.
//!
//! # Two DNS worlds
//!
//! SMB clients build the Kerberos service name from the name they typed (docs/design.md §5), so
//! `\\svm-alias.corp.example\share` gets Kerberos only if the name resolves to the VPC Lattice
//! endpoint *where the client resolves* and the SVM's computer object carries SPNs for it:
//!
//! - **Route 53** (the project's existing CNAME + ownership TXT, `shared/core/src/plan/dns.rs`):
//!   for clients that use the VPC resolver (hosts in the consumer VPC that are not domain
//!   members, or whose DNS forwards the zone to Route 53).
//! - **AD DNS** ([`Directory::ensure_alias_cname`]): domain members resolve through the DCs'
//!   DNS, which serves the AD-integrated zone from the directory itself. A Route 53 record is
//!   invisible to them unless AD DNS forwards that name. The CNAME is written as a `dnsNode`
//!   object whose `dnsRecord` value is an MS-DNSP DNS_RPC_RECORD ([`dnsp`]), with an ownership
//!   marker beside it in the spirit of the Route 53 TXT: a TXT record
//!   `_fsxn-lattice.<alias>` = `heritage=fsxn-lattice,owner=<owner>,svm=<svm>`. The Route 53
//!   rules hold here too: a name holding anything without our marker is never overwritten
//!   ([`DirectoryErrorKind::RecordNotOurs`]); ours is repointed on heal (or given a new TTL) by
//!   deleting exactly the value read and adding the new one in one LDAP modify; withdrawal
//!   removes only ours. [`Directory::list_alias_markers`] lists every marker in the zone, so a
//!   record whose SVM forgot it can still be found.
//!
//! # SPNs
//!
//! [`Directory::ensure_spn`] finds the SVM's computer object by `sAMAccountName` `<NETBIOS>$` and
//! adds, each only when missing and all in one modify, `msDS-AdditionalDnsHostName = <alias
//! fqdn>` and the SPNs `HOST/<alias fqdn>` and `HOST/<ALIAS SHORT NAME>`. A Windows DC derives
//! `HOST/` SPNs from `msDS-AdditionalDnsHostName` itself; Samba does not, so both are written
//! explicitly. [MS-ADTS] §3.1.1.5.3.1.1.4 lets a validated SPN write name any of the computer's
//! `dNSHostName`, `sAMAccountName` or `msDS-AdditionalDnsHostName` values
//! (<https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-adts/28ca4eca-0e0b-4666-9175-a37ccb8edada>),
//! which is why the host name goes in first. Before writing, each value is searched for on other
//! accounts (the global catalog, port 3269, when reachable, and the domain; matching is
//! case-insensitive as the attributes' syntax is; `cifs/<name>` elsewhere counts against
//! `HOST/<name>`, which the KDC maps it onto): one held elsewhere refuses the change with
//! that account's DN ([`DirectoryErrorKind::SpnTaken`]) — never stolen, since a duplicate SPN
//! breaks Kerberos for both. What was added is returned as an [`SpnRecord`] for the caller to
//! keep (a tag on the SVM), naming the object written by its objectGUID;
//! [`Directory::remove_spn`] removes only what the record names, from that object only, so a
//! value an administrator set is never removed, not even on a computer account deleted and
//! re-created under the same name (another objectGUID). (If a crash loses the record after a
//! write, the values are taken for an administrator's next time: kept, never wrongly removed.)
//!
//! # The delegation an administrator grants
//!
//! The bind account needs no Domain Admin rights, only:
//! - on the SVM's computer object: *Validated write to service principal name* (or write
//!   `servicePrincipalName`) and write `msDS-AdditionalDnsHostName` (the *Validated write to MS DS
//!   Additional DNS Host Name* right, or write on the *DNS Host Name Attributes* property set).
//!   A *validated* SPN write only admits SPNs whose host is one of the computer's names
//!   ([MS-ADTS] §3.1.1.5.3.1.1.4): `HOST/<alias fqdn>` qualifies once the alias is in
//!   `msDS-AdditionalDnsHostName`; `HOST/<SHORT>` qualifies only where the DC counts the short
//!   name (or it is in `msDS-AdditionalSamAccountName`), so on Windows the short SPN may need
//!   plain *Write servicePrincipalName* (UNCONFIRMED: Samba, where the tests run, does not
//!   enforce the validated write for the domain's administrator). A refusal is reported as
//!   `Conflict` with nothing written;
//! - on the zone's container (`DC=<zone>,CN=MicrosoftDNS,DC=DomainDnsZones,…`): *Create dnsNode
//!   objects* and *Delete dnsNode objects* (the creator owns, and so may modify, the nodes it
//!   creates).
//!
//! FSx's own service account (the one given when the SVM joined the domain) already holds rights
//! on the computer object it created and may serve, where policy allows, for the SPN half. In AWS
//! Managed Microsoft AD, members of *AWS Delegated Administrators* hold these rights in the OU
//! the customer controls.
//!
//! # Errors
//!
//! [`DirectoryError`] says what went wrong ([`DirectoryErrorKind`]) and maps onto the project's
//! `ErrorKind`: a wrong password is `AccessDenied`, an untrusted certificate `InvalidInput`, an
//! unreachable DC `Transient`, a foreign SPN or record `Conflict`. Each write is one LDAP
//! operation (all or nothing) or is taken back on failure: nothing is left half-written.
//!
//! # The core's port
//!
//! [`port::LdapDirectory`] implements `fsxn_lattice_core::ports::Directory` over a bound
//! [`Directory`], so the planner's `RegisterSpn`, `UnregisterSpn`, `PublishDirectoryAlias` and
//! `WithdrawDirectoryAlias` run against a real DC.
//!
//! # Doctor
//!
//! [`check::check`] reports, read-only: DC reachable, TLS verifies, bind works, global catalog,
//! computer object exists and is writable, each SPN free or ours, zone writable, alias name free
//! or ours.

pub mod check;
pub mod directory;
pub mod dnsp;
pub mod error;
pub mod locate;
pub mod names;
pub mod port;
pub mod settings;

pub use check::{CheckTarget, check};
pub use directory::{AliasOwner, CnameChange, Computer, Directory, SpnChange, parse_marker};
pub use error::{DirectoryError, DirectoryErrorKind};
pub use names::{SpnRecord, SpnValue};
pub use port::LdapDirectory;
pub use settings::{Credentials, DirectorySettings, DomainController, TlsMode, TlsSettings};
