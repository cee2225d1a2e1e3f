//! The LDAP side: connect (TLS, bind), the alias's SPNs on the computer object, its CNAME in
//! the AD-integrated zone.

use crate::dnsp::{DnsRecord, RecordData, TYPE_CNAME, TYPE_TXT};
use crate::error::{DirectoryError, DirectoryErrorKind as K};
use crate::locate::locate_dcs;
use crate::names::*;
use crate::settings::{Credentials, DirectorySettings, DomainController, TlsMode};
use fsxn_lattice_core::directory::{format_object_guid, parse_object_guid};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry, StdStream};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Port of the global catalog over TLS.
pub const GC_TLS_PORT: u16 = 3269;
/// Label of the ownership marker beside an alias (the Route 53 one's, `naming::OWNERSHIP_TXT_LABEL`).
pub const MARKER_LABEL: &str = fsxn_lattice_core::naming::OWNERSHIP_TXT_LABEL;
/// Entries per page of a paged search (RFC 2696): below AD's default `MaxPageSize` of 1000,
/// beyond which an unpaged search stops with `sizeLimitExceeded`.
pub const PAGE_SIZE: i32 = 500;
/// `objectGUID`: 16 bytes, the identity of an object for its whole life (a DN or
/// `sAMAccountName` passes on to an object re-created under the same name).
const ATTR_GUID: &str = "objectGUID";
/// `dNSHostName`.
const ATTR_DNS_HOST_NAME: &str = "dNSHostName";

/// A bound connection to one domain controller (and its global catalog when reachable).
pub struct Directory {
    ldap: Ldap,
    gc: Option<Ldap>,
    controller: String,
    default_nc: String,
    naming_contexts: Vec<String>,
    timeout: Duration,
    gc_note: Option<String>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("controller", &self.controller)
            .field("default_nc", &self.default_nc)
            .field("global_catalog", &self.gc.is_some())
            .finish()
    }
}

/// The computer object of an SVM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computer {
    /// Its DN.
    pub dn: String,
    /// Its objectGUID, as AD displays it ([`format_object_guid`]).
    pub guid: String,
    /// Its `dNSHostName`, lower case without a trailing dot, when set.
    pub dns_host_name: Option<String>,
    /// Its `sAMAccountName` (`<NETBIOS>$`).
    pub sam_account_name: String,
    /// `servicePrincipalName` values.
    pub spns: Vec<String>,
    /// `msDS-AdditionalDnsHostName` values.
    pub additional_dns_host_names: Vec<String>,
}

impl Computer {
    fn has(&self, attr: &str, value: &str) -> bool {
        let list = if attr == ATTR_SPN {
            &self.spns
        } else {
            &self.additional_dns_host_names
        };
        list.iter().any(|v| v.eq_ignore_ascii_case(value))
    }
}

/// What `ensure_spn` / `remove_spn` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpnChange {
    /// The computer object (empty when it no longer exists on removal).
    pub computer_dn: String,
    /// What is ours now: store it and hand it back next time.
    pub record: SpnRecord,
    /// `attribute: value` written by this call.
    pub added: Vec<String>,
    /// `attribute: value` removed by this call.
    pub removed: Vec<String>,
    /// `attribute: value` present but set by someone else: left alone, never removed.
    pub foreign: Vec<String>,
}

/// Who owns an alias record: written in the TXT marker beside it,
/// `heritage=fsxn-lattice,owner=<owner>,svm=<svm>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasOwner {
    /// The deployment's owner id (`config.owner`).
    pub owner: String,
    /// The SVM the alias is for.
    pub svm: String,
}

impl AliasOwner {
    /// The marker's TXT string.
    pub fn marker(&self) -> String {
        fsxn_lattice_core::directory::marker(&self.owner, &self.svm)
    }

    fn validate(&self) -> Result<(), DirectoryError> {
        for v in [&self.owner, &self.svm] {
            if v.is_empty() || v.len() > 100 || !v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                return Err(DirectoryError::new(
                    K::InvalidInput,
                    "alias owner",
                    format!("{v:?}: 1-100 of [A-Za-z0-9._-]"),
                ));
            }
        }
        Ok(())
    }
}

pub use fsxn_lattice_core::directory::parse_marker;

/// What `ensure_alias_cname` / `remove_alias_cname` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CnameChange {
    /// The CNAME (and its marker) were written.
    Created,
    /// Ours, pointed elsewhere: now at the target.
    Repointed {
        /// The old target.
        from: String,
    },
    /// Ours, at the target, with another TTL: rewritten with the new one.
    TtlChanged {
        /// The TTL it had, in seconds.
        from: u32,
        /// The TTL it has now.
        to: u32,
    },
    /// Ours and already right.
    Unchanged,
    /// Ours: removed (CNAME and marker).
    Removed,
    /// Nothing there to remove.
    Absent,
    /// Not ours: left alone (removal only; ensure refuses with `RecordNotOurs`).
    LeftAlone(String),
}

/// A `dnsNode` as read.
#[derive(Debug, Clone, Default)]
struct Node {
    exists: bool,
    /// Live values (tombstones left out): raw bytes and, when readable, the record.
    live: Vec<(Vec<u8>, Option<DnsRecord>)>,
}

impl Node {
    /// A `dnsNode` entry as read: a tombstoned node (`dNSTombstoned: TRUE`) has no live values,
    /// nor do tombstone records (type 0) in a live one.
    fn from_entry(e: &SearchEntry) -> Self {
        let tombstoned = strings(e, "dNSTombstoned")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("TRUE"));
        let live = if tombstoned {
            Vec::new()
        } else {
            values(e, "dnsRecord")
                .into_iter()
                .map(|raw| {
                    let rec = DnsRecord::decode(&raw).ok();
                    (raw, rec)
                })
                .filter(|(_, r)| !r.as_ref().is_some_and(DnsRecord::is_tombstone))
                .collect()
        };
        Self { exists: true, live }
    }

    fn is_live(&self) -> bool {
        !self.live.is_empty()
    }
    fn types(&self) -> String {
        let t: BTreeSet<String> = self
            .live
            .iter()
            .map(|(_, r)| match r {
                Some(r) => match r.record_type() {
                    TYPE_CNAME => "CNAME".to_string(),
                    TYPE_TXT => "TXT".to_string(),
                    1 => "A".to_string(),
                    t => format!("type {t}"),
                },
                None => "unreadable".to_string(),
            })
            .collect();
        t.into_iter().collect::<Vec<_>>().join(", ")
    }
    fn txts(&self) -> Vec<String> {
        self.live
            .iter()
            .filter_map(|(_, r)| match r.as_ref().map(|r| &r.data) {
                Some(RecordData::Txt(s)) => Some(
                    s.iter()
                        .map(|p| String::from_utf8_lossy(p).into_owned())
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect()
    }
}

fn values(e: &SearchEntry, attr: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for (k, vs) in &e.attrs {
        if k.eq_ignore_ascii_case(attr) {
            out.extend(vs.iter().map(|v| v.as_bytes().to_vec()));
        }
    }
    for (k, vs) in &e.bin_attrs {
        if k.eq_ignore_ascii_case(attr) {
            out.extend(vs.iter().cloned());
        }
    }
    out
}

fn strings(e: &SearchEntry, attr: &str) -> Vec<String> {
    values(e, attr)
        .into_iter()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect()
}

/// Accepts any certificate (the explicitly named insecure switch), still checking signatures.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls client configuration of the settings (the CA bundle, the system roots, or the
/// insecure switch; never the switch with a bundle: [`DirectorySettings::validate`]).
pub fn tls_config(settings: &DirectorySettings) -> Result<Arc<rustls::ClientConfig>, DirectoryError> {
    let op = "TLS settings";
    settings.validate()?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| DirectoryError::new(K::Protocol, op, e.to_string()))?;
    if settings.tls.insecure_skip_verify {
        tracing::warn!("directory TLS: insecure_skip_verify is set: the DC's certificate is not verified");
        return Ok(Arc::new(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
                .with_no_client_auth(),
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    match &settings.tls.ca_bundle_pem {
        Some(pem) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| DirectoryError::new(K::InvalidInput, op, format!("the CA bundle is not PEM: {e}")))?;
            if certs.is_empty() {
                return Err(DirectoryError::new(
                    K::InvalidInput,
                    op,
                    "the CA bundle holds no certificate",
                ));
            }
            for c in certs {
                roots.add(c).map_err(|e| {
                    DirectoryError::new(K::InvalidInput, op, format!("a CA certificate is unusable: {e}"))
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
            if roots.is_empty() {
                return Err(DirectoryError::new(
                    K::InvalidInput,
                    op,
                    "no CA bundle configured and no system root certificate found",
                ));
            }
        }
    }
    Ok(Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
}

async fn within<T>(
    timeout: Duration,
    op: &str,
    f: impl Future<Output = ldap3::result::Result<T>>,
) -> Result<T, DirectoryError> {
    match tokio::time::timeout(timeout, f).await {
        Ok(r) => r.map_err(|e| DirectoryError::from_ldap(op, e)),
        Err(_) => Err(DirectoryError::new(
            K::Busy,
            op,
            format!("no answer within {timeout:?}"),
        )),
    }
}

/// Opens TCP, TLS, and binds: one DC. Errors say which stage failed by their kind
/// (Unreachable, UntrustedCertificate, InvalidCredentials).
async fn open(
    dc: &DomainController,
    port: u16,
    starttls: bool,
    tls: Arc<rustls::ClientConfig>,
    creds: &Credentials,
    timeout: Duration,
) -> Result<Ldap, DirectoryError> {
    let op = "connect";
    let addr: SocketAddr = match dc.address {
        Some(ip) => (ip, port).into(),
        None => match dc.host.parse::<IpAddr>() {
            Ok(ip) => (ip, port).into(),
            Err(_) => tokio::time::timeout(timeout, tokio::net::lookup_host((dc.host.as_str(), port)))
                .await
                .map_err(|_| DirectoryError::new(K::Unreachable, op, format!("{}: name lookup timed out", dc.host)))?
                .map_err(|e| DirectoryError::new(K::Unreachable, op, format!("{}: {e}", dc.host)))?
                .next()
                .ok_or_else(|| DirectoryError::new(K::Unreachable, op, format!("{} resolves to nothing", dc.host)))?,
        },
    };
    let tcp = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| DirectoryError::new(K::Unreachable, op, format!("{} ({addr}): connect timed out", dc.host)))?
        .map_err(|e| DirectoryError::new(K::Unreachable, op, format!("{} ({addr}): {e}", dc.host)))?;
    let std = tcp
        .into_std()
        .map_err(|e| DirectoryError::new(K::Unreachable, op, e.to_string()))?;
    let host = match dc.host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => dc.host.clone(),
    };
    let scheme = if starttls { "ldap" } else { "ldaps" };
    let url = format!("{scheme}://{host}:{port}");
    let conn_settings = LdapConnSettings::new()
        .set_std_stream(StdStream::Tcp(std))
        .set_config(tls)
        .set_starttls(starttls)
        .set_conn_timeout(timeout);
    let (conn, mut ldap) = within(timeout, op, LdapConnAsync::with_settings(conn_settings, &url))
        .await
        .map_err(|mut e| {
            e.message = format!("{} ({addr}): {}", dc.host, e.message);
            e
        })?;
    tokio::spawn(async move {
        if let Err(e) = conn.drive().await {
            tracing::debug!(error = %e, "directory connection closed");
        }
    });
    let result = within(timeout, "bind", ldap.simple_bind(&creds.username, creds.password())).await?;
    if result.rc != 0 {
        let mut e = DirectoryError::from_result("bind", result.rc, &result.text);
        e.message = format!("as {}: {}", creds.username, e.message);
        return Err(e);
    }
    Ok(ldap)
}

impl Directory {
    /// Connects to the first reachable DC (configured, or located through DNS SRV), verifies its
    /// certificate, binds, and reads its rootDSE. Stops at the first DC that answers with an
    /// untrusted certificate or refuses the credentials (trying more DCs with a wrong password
    /// only locks the account sooner); goes on to the next on unreachable ones.
    pub async fn connect(settings: &DirectorySettings, creds: &Credentials) -> Result<Self, DirectoryError> {
        creds.validate()?;
        let timeout = settings.timeout();
        let tls = tls_config(settings)?;
        let dcs = if settings.domain_controllers.is_empty() {
            locate_dcs(&settings.domain, &settings.dns_servers, timeout).await?
        } else {
            settings.domain_controllers.clone()
        };
        let starttls = settings.tls.mode == TlsMode::StartTls;
        let mut unreachable = Vec::new();
        for dc in &dcs {
            let port = dc.port.unwrap_or(if starttls { 389 } else { 636 });
            match open(dc, port, starttls, tls.clone(), creds, timeout).await {
                Ok(ldap) => {
                    let mut d = Self {
                        ldap,
                        gc: None,
                        controller: dc.host.clone(),
                        default_nc: String::new(),
                        naming_contexts: Vec::new(),
                        timeout,
                        gc_note: None,
                    };
                    d.read_root_dse().await?;
                    if settings.global_catalog {
                        match open(dc, GC_TLS_PORT, false, tls.clone(), creds, timeout).await {
                            Ok(gc) => d.gc = Some(gc),
                            Err(e) => {
                                d.gc_note = Some(format!(
                                    "global catalog on {}:{GC_TLS_PORT} not usable ({e}): SPN holders searched in this domain only",
                                    dc.host
                                ))
                            }
                        }
                    }
                    return Ok(d);
                }
                Err(e) if matches!(e.kind, K::Unreachable | K::Busy) => unreachable.push(e.message),
                Err(e) => return Err(e),
            }
        }
        Err(DirectoryError::new(
            K::Unreachable,
            "connect",
            format!(
                "no domain controller of {} reachable: {}",
                settings.domain,
                unreachable.join("; ")
            ),
        ))
    }

    /// The DC this is bound to.
    pub fn controller(&self) -> &str {
        &self.controller
    }

    /// The domain's DN (`DC=corp,DC=example`).
    pub fn default_naming_context(&self) -> &str {
        &self.default_nc
    }

    /// Whether SPN holders are searched in the global catalog (the forest) or, when `false`,
    /// in this domain only; and why not.
    pub fn global_catalog(&self) -> (bool, Option<&str>) {
        (self.gc.is_some(), self.gc_note.as_deref())
    }

    /// Unbinds.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(self.timeout, self.ldap.unbind()).await;
        if let Some(mut gc) = self.gc.take() {
            let _ = tokio::time::timeout(self.timeout, gc.unbind()).await;
        }
    }

    async fn read_root_dse(&mut self) -> Result<(), DirectoryError> {
        let e = self
            .search_on(
                &self.ldap.clone(),
                "",
                Scope::Base,
                "(objectClass=*)",
                &["defaultNamingContext", "namingContexts"],
            )
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| DirectoryError::new(K::Protocol, "read rootDSE", "empty rootDSE"))?;
        self.default_nc = strings(&e, "defaultNamingContext").into_iter().next().ok_or_else(|| {
            DirectoryError::new(K::Protocol, "read rootDSE", "no defaultNamingContext: not an AD DC?")
        })?;
        self.naming_contexts = strings(&e, "namingContexts");
        Ok(())
    }

    /// A search; a missing base is an empty answer, continuation references are skipped.
    async fn search_on(
        &self,
        conn: &Ldap,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let op = "search";
        let mut l = conn.clone();
        let res = within(self.timeout, op, l.search(base, scope, filter, attrs.to_vec())).await?;
        let (entries, result) = (res.0, res.1);
        match result.rc {
            0 | 10 => {}
            32 => return Ok(Vec::new()),
            rc => return Err(DirectoryError::from_result(op, rc, &result.text)),
        }
        Ok(entries
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate())
            .map(SearchEntry::construct)
            .collect())
    }

    async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        self.search_on(&self.ldap, base, scope, filter, attrs).await
    }

    /// A search in pages of [`PAGE_SIZE`] (the Paged Results control, RFC 2696), for searches
    /// whose answer may exceed the DC's `MaxPageSize`; a missing base is an empty answer,
    /// continuation references are skipped.
    async fn search_paged(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let op = "search";
        let mut l = self.ldap.clone();
        let adapters: Vec<Box<dyn Adapter<_, _>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(PAGE_SIZE))];
        let mut stream = within(
            self.timeout,
            op,
            l.streaming_search_with(adapters, base, scope, filter, attrs.to_vec()),
        )
        .await?;
        let mut entries = Vec::new();
        // Each page gets the timeout, not the whole listing: a large zone may take many pages.
        while let Some(e) = within(self.timeout, op, stream.next()).await? {
            entries.push(SearchEntry::construct(e));
        }
        let result = within(self.timeout, op, async { Ok(stream.finish().await) }).await?;
        match result.rc {
            0 => Ok(entries),
            32 => Ok(Vec::new()),
            rc => Err(DirectoryError::from_result(op, rc, &result.text)),
        }
    }

    async fn modify(&self, op: &str, dn: &str, mods: Vec<Mod<Vec<u8>>>) -> Result<(), DirectoryError> {
        let mut l = self.ldap.clone();
        let r = within(self.timeout, op, l.modify(dn, mods)).await?;
        if r.rc != 0 {
            return Err(DirectoryError::from_result(op, r.rc, &r.text));
        }
        Ok(())
    }

    /// The computer object whose `sAMAccountName` is `<NETBIOS>$`.
    pub async fn find_computer(&self, netbios: &str) -> Result<Computer, DirectoryError> {
        let name = netbios_name(netbios)?;
        let filter = format!("(&(objectClass=computer)(sAMAccountName={}$))", escape_filter(&name));
        let found = self
            .search(&self.default_nc, Scope::Subtree, &filter, &COMPUTER_ATTRS)
            .await?;
        let e = found.into_iter().next().ok_or_else(|| {
            DirectoryError::new(
                K::NotFound,
                "find computer",
                format!(
                    "no computer object {name}$ in {} (is the SVM joined to this domain?)",
                    self.default_nc
                ),
            )
        })?;
        Self::computer(e)
    }

    /// The object whose objectGUID is `guid` ([`format_object_guid`]'s form), searched in the
    /// domain; `None` when there is none (deleted: AD keeps deleted objects only where a search
    /// without the show-deleted control does not look).
    pub async fn find_computer_by_guid(&self, guid: &str) -> Result<Option<Computer>, DirectoryError> {
        let bytes = parse_object_guid(guid).ok_or_else(|| {
            DirectoryError::new(
                K::InvalidInput,
                "find computer",
                format!("{guid:?} is not an objectGUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
            )
        })?;
        let filter = format!("({ATTR_GUID}={})", escape_filter_bytes(&bytes));
        match self
            .search(&self.default_nc, Scope::Subtree, &filter, &COMPUTER_ATTRS)
            .await?
            .into_iter()
            .next()
        {
            Some(e) => Self::computer(e).map(Some),
            None => Ok(None),
        }
    }

    fn computer(e: SearchEntry) -> Result<Computer, DirectoryError> {
        let guid = values(&e, ATTR_GUID)
            .into_iter()
            .next()
            .and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok())
            .map(|b| format_object_guid(&b))
            .ok_or_else(|| {
                DirectoryError::new(
                    K::Protocol,
                    "find computer",
                    format!("{} has no 16-byte objectGUID", e.dn),
                )
            })?;
        Ok(Computer {
            spns: strings(&e, ATTR_SPN),
            additional_dns_host_names: strings(&e, ATTR_ADDITIONAL_DNS),
            dns_host_name: strings(&e, ATTR_DNS_HOST_NAME)
                .into_iter()
                .next()
                .map(|h| fsxn_lattice_core::model::normalize_dns_name(&h)),
            sam_account_name: strings(&e, "sAMAccountName").into_iter().next().unwrap_or_default(),
            guid,
            dn: e.dn,
        })
    }

    /// DNs other than `except` that hold `attr = value` (SPNs: in the global catalog when
    /// available, and in the domain; host names: as `dNSHostName` or
    /// `msDS-AdditionalDnsHostName`). Matching is the attributes' own, case-insensitive. A
    /// `HOST/<name>` SPN also counts as held where another account has `cifs/<name>`: the KDC
    /// maps `cifs` onto `HOST` (the forest's `sPNMappings`), so an SMB client asking for
    /// `cifs/<name>` would find two accounts.
    pub async fn holders(&self, attr: &str, value: &str, except: &str) -> Result<Vec<String>, DirectoryError> {
        let v = escape_filter(value);
        let filter = if attr == ATTR_SPN {
            match value.get(..5) {
                Some(p) if p.eq_ignore_ascii_case("HOST/") => {
                    format!(
                        "(|(servicePrincipalName={v})(servicePrincipalName=cifs/{}))",
                        escape_filter(&value[5..])
                    )
                }
                _ => format!("(servicePrincipalName={v})"),
            }
        } else {
            format!("(|(dNSHostName={v})(msDS-AdditionalDnsHostName={v}))")
        };
        let mut dns = BTreeSet::new();
        for e in self.search(&self.default_nc, Scope::Subtree, &filter, &["1.1"]).await? {
            dns.insert(e.dn);
        }
        if let Some(gc) = &self.gc {
            for e in self.search_on(gc, "", Scope::Subtree, &filter, &["1.1"]).await? {
                dns.insert(e.dn);
            }
        }
        Ok(dns.into_iter().filter(|d| !d.eq_ignore_ascii_case(except)).collect())
    }

    /// Makes the computer object of `computer_netbios` carry the alias: `msDS-AdditionalDnsHostName`
    /// and the `HOST/<fqdn>` and `HOST/<SHORT>` SPNs, each added only when missing, all in one
    /// LDAP modify (all or nothing). Before writing, every value to add is looked for on other
    /// accounts: one held elsewhere refuses the whole change with [`K::SpnTaken`] naming the
    /// holder. `previous` is what an earlier call returned (or [`SpnRecord::empty`]); the returned
    /// record is what is ours now, naming the object written by its objectGUID. When
    /// `previous.account` names another object than the one found now (the account was deleted
    /// and re-created under the same name), nothing in `previous` is ours here: values present
    /// on this object are someone else's.
    pub async fn ensure_spn(
        &self,
        computer_netbios: &str,
        alias: &str,
        previous: &SpnRecord,
    ) -> Result<SpnChange, DirectoryError> {
        let op = "ensure SPN";
        let want = AliasValues::for_alias(alias)?;
        if !previous.added.is_empty() && previous.alias != want.fqdn {
            return Err(DirectoryError::new(
                K::InvalidInput,
                op,
                format!(
                    "the record is for {}, not {}: remove_spn it first",
                    previous.alias, want.fqdn
                ),
            ));
        }
        let comp = self.find_computer(computer_netbios).await?;
        let another_object = previous
            .account
            .as_deref()
            .is_some_and(|g| !g.eq_ignore_ascii_case(&comp.guid));
        if another_object && !previous.added.is_empty() {
            tracing::warn!(
                computer = %comp.dn,
                guid = %comp.guid,
                recorded = previous.account.as_deref().unwrap_or_default(),
                "the SPN record names another object than the computer found now: its values are not ours here"
            );
        }
        let mut record = SpnRecord {
            account: Some(comp.guid.clone()),
            ..SpnRecord::empty(want.fqdn.clone())
        };
        let mut to_add: Vec<(SpnValue, &str, &str)> = Vec::new();
        let mut foreign = Vec::new();
        for (v, attr, value) in want.all() {
            if comp.has(attr, value) {
                if !another_object && previous.added.contains(&v) {
                    record.added.insert(v);
                } else {
                    foreign.push(format!("{attr}: {value}"));
                }
            } else {
                to_add.push((v, attr, value));
            }
        }
        for (_, attr, value) in &to_add {
            if let Some(holder) = self.holders(attr, value, &comp.dn).await?.into_iter().next() {
                return Err(DirectoryError::new(
                    K::SpnTaken,
                    op,
                    format!("{attr} {value} is held by {holder}: not taken from it (remove it there, or choose another alias); nothing was written"),
                )
                .held_by(holder));
            }
        }
        let added: Vec<String> = to_add.iter().map(|(_, a, v)| format!("{a}: {v}")).collect();
        if !to_add.is_empty() {
            let mut mods = Vec::new();
            for attr in [ATTR_ADDITIONAL_DNS, ATTR_SPN] {
                let vals: HashSet<Vec<u8>> = to_add
                    .iter()
                    .filter(|(_, a, _)| *a == attr)
                    .map(|(_, _, v)| v.as_bytes().to_vec())
                    .collect();
                if !vals.is_empty() {
                    mods.push(Mod::Add(attr.as_bytes().to_vec(), vals));
                }
            }
            self.modify(op, &comp.dn, mods).await.map_err(|mut e| {
                if e.kind == K::Conflict {
                    // No holder was found before writing: a duplicate we could not see (another
                    // domain without a global catalog, or written meanwhile), or, on Windows, an
                    // SPN the validated write does not allow (its host must be one of the
                    // computer's names, [MS-ADTS] 3.1.1.5.3.1.1.4).
                    e.message = format!(
                        "the DC refused the values for {}: {} (a duplicate SPN we could not see, or an SPN the account's validated write does not allow); nothing was written",
                        want.fqdn, e.message
                    );
                }
                e
            })?;
            record.added.extend(to_add.iter().map(|(v, _, _)| *v));
        }
        Ok(SpnChange {
            computer_dn: comp.dn,
            record,
            added,
            removed: Vec::new(),
            foreign,
        })
    }

    /// Removes from the computer object exactly the values `record` says we added (those still
    /// there), in one LDAP modify. Values an administrator set are not in the record and stay.
    /// The object is the one `record.account` names by objectGUID, whatever its name now; a
    /// record without an account (written before the GUID was kept) names it by
    /// `computer_netbios`. A computer object that no longer exists has nothing to remove, even
    /// when another one has its name now.
    pub async fn remove_spn(&self, computer_netbios: &str, record: &SpnRecord) -> Result<SpnChange, DirectoryError> {
        let op = "remove SPN";
        let empty = SpnRecord::empty(record.alias.clone());
        if record.added.is_empty() {
            return Ok(SpnChange {
                computer_dn: String::new(),
                record: empty,
                added: Vec::new(),
                removed: Vec::new(),
                foreign: Vec::new(),
            });
        }
        let want = AliasValues::for_alias(&record.alias)?;
        let found = match &record.account {
            Some(guid) => self.find_computer_by_guid(guid).await?,
            None => match self.find_computer(computer_netbios).await {
                Ok(c) => Some(c),
                Err(e) if e.kind == K::NotFound => None,
                Err(e) => return Err(e),
            },
        };
        // The GUID only narrows: the object it names must still be this SVM's account (the
        // record is an SVM tag, which whoever may tag the SVM can write; it must never make us
        // touch another computer).
        let netbios = fsxn_lattice_core::directory::computer_name(computer_netbios);
        let found = found.filter(|c| c.sam_account_name.trim_end_matches('$').eq_ignore_ascii_case(&netbios));
        let Some(comp) = found else {
            return Ok(SpnChange {
                computer_dn: String::new(),
                record: empty,
                added: Vec::new(),
                removed: Vec::new(),
                foreign: Vec::new(),
            });
        };
        // Never the account's own names (what the domain join wrote: `<NETBIOS>`,
        // `<netbios>.<domain>`, its dNSHostName): a record naming them is not ours, whatever it
        // says.
        let own = |value: &str| {
            let host = value.split_once('/').map_or(value, |(_, h)| h);
            host.split('.').next().is_some_and(|l| l.eq_ignore_ascii_case(&netbios))
                || comp
                    .dns_host_name
                    .as_deref()
                    .is_some_and(|d| host.eq_ignore_ascii_case(d))
        };
        let mut to_remove: Vec<(&'static str, &str)> = Vec::new();
        let mut foreign = Vec::new();
        for (v, attr, value) in want.all() {
            if !comp.has(attr, value) {
                continue;
            }
            if record.added.contains(&v) && !own(value) {
                to_remove.push((attr, value));
            } else {
                foreign.push(format!("{attr}: {value}"));
            }
        }
        let removed: Vec<String> = to_remove.iter().map(|(a, v)| format!("{a}: {v}")).collect();
        if !to_remove.is_empty() {
            let mut mods = Vec::new();
            for attr in [ATTR_SPN, ATTR_ADDITIONAL_DNS] {
                let vals: HashSet<Vec<u8>> = to_remove
                    .iter()
                    .filter(|(a, _)| *a == attr)
                    .map(|(_, v)| v.as_bytes().to_vec())
                    .collect();
                if !vals.is_empty() {
                    mods.push(Mod::Delete(attr.as_bytes().to_vec(), vals));
                }
            }
            self.modify(op, &comp.dn, mods).await?;
        }
        Ok(SpnChange {
            computer_dn: comp.dn,
            record: empty,
            added: Vec::new(),
            removed,
            foreign,
        })
    }

    /// The DN of the AD-integrated zone `zone` (DomainDnsZones, ForestDnsZones, or the legacy
    /// `CN=MicrosoftDNS,CN=System` container).
    pub async fn find_zone(&self, zone: &str) -> Result<String, DirectoryError> {
        let zone = crate::dnsp::normalize_name(zone)
            .map_err(|e| DirectoryError::new(K::InvalidInput, "find zone", format!("zone {zone:?}: {e}")))?;
        let mut containers: Vec<String> = self
            .naming_contexts
            .iter()
            .filter(|nc| {
                let l = nc.to_ascii_lowercase();
                l.starts_with("dc=domaindnszones,") || l.starts_with("dc=forestdnszones,")
            })
            .map(|nc| format!("CN=MicrosoftDNS,{nc}"))
            .collect();
        containers.push(format!("CN=MicrosoftDNS,CN=System,{}", self.default_nc));
        let filter = format!("(&(objectClass=dnsZone)(name={}))", escape_filter(&zone));
        for c in &containers {
            if let Some(e) = self
                .search(c, Scope::OneLevel, &filter, &["1.1"])
                .await?
                .into_iter()
                .next()
            {
                return Ok(e.dn);
            }
        }
        Err(DirectoryError::new(
            K::NotFound,
            "find zone",
            format!("no AD-integrated zone {zone} in {}", containers.join(", ")),
        ))
    }

    /// The alias's node in `zone` and the ownership marker beside it: their DNs and what they
    /// hold now (the reads every alias operation starts with).
    async fn alias_nodes(&self, zone: &str, alias: &str) -> Result<AliasNodes, DirectoryError> {
        let fqdn = alias_fqdn(alias)?;
        let rel = relative_name(&fqdn, zone)?;
        let zone_dn = self.find_zone(zone).await?;
        let node_dn = format!("DC={},{zone_dn}", escape_dn_value(&rel));
        let marker_dn = format!("DC={},{zone_dn}", escape_dn_value(&format!("{MARKER_LABEL}.{rel}")));
        let node = self.read_node(&node_dn).await?;
        let marker = self.read_node(&marker_dn).await?;
        Ok(AliasNodes {
            fqdn,
            zone_dn,
            node_dn,
            marker_dn,
            node,
            marker,
        })
    }

    async fn read_node(&self, dn: &str) -> Result<Node, DirectoryError> {
        let found = self
            .search(
                dn,
                Scope::Base,
                "(objectClass=dnsNode)",
                &["dnsRecord", "dNSTombstoned"],
            )
            .await?;
        Ok(found.first().map(Node::from_entry).unwrap_or_default())
    }

    async fn zone_serial(&self, zone_dn: &str) -> u32 {
        match self.read_node(&format!("DC=@,{zone_dn}")).await {
            Ok(n) => n
                .live
                .iter()
                .filter_map(|(_, r)| r.as_ref().map(|r| r.serial))
                .max()
                .unwrap_or(1),
            Err(_) => 1,
        }
    }

    /// Writes `record` as the node's only value: a new node, or a tombstoned one brought back.
    async fn put_node(&self, op: &str, dn: &str, node: &Node, record: &DnsRecord) -> Result<(), DirectoryError> {
        let value = record
            .encode()
            .map_err(|e| DirectoryError::new(K::InvalidInput, op, e.to_string()))?;
        let mut l = self.ldap.clone();
        if node.exists {
            let mods = vec![
                Mod::Replace(b"dnsRecord".to_vec(), HashSet::from([value])),
                Mod::Replace(b"dNSTombstoned".to_vec(), HashSet::from([b"FALSE".to_vec()])),
            ];
            return self.modify(op, dn, mods).await;
        }
        let attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = vec![
            (
                b"objectClass".to_vec(),
                HashSet::from([b"top".to_vec(), b"dnsNode".to_vec()]),
            ),
            (b"dnsRecord".to_vec(), HashSet::from([value])),
        ];
        let r = within(self.timeout, op, l.add(dn, attrs)).await?;
        if r.rc != 0 {
            return Err(DirectoryError::from_result(op, r.rc, &r.text));
        }
        Ok(())
    }

    async fn delete_dn(&self, op: &str, dn: &str) -> Result<(), DirectoryError> {
        let mut l = self.ldap.clone();
        let r = within(self.timeout, op, l.delete(dn)).await?;
        match r.rc {
            0 | 32 => Ok(()),
            rc => Err(DirectoryError::from_result(op, rc, &r.text)),
        }
    }

    fn owned(marker: &Node, owner: &AliasOwner) -> bool {
        marker
            .txts()
            .iter()
            .any(|t| parse_marker(t).is_some_and(|(o, s)| o == owner.owner && s == owner.svm))
    }

    /// Publishes `alias` as a CNAME to `target` in the AD-integrated `zone`, with the TXT
    /// ownership marker `_fsxn-lattice.<alias>` beside it, under the Route 53 rules: a name that
    /// holds anything without our marker is not ours and is refused ([`K::RecordNotOurs`]), never
    /// overwritten; ours is repointed (or given the new `ttl`, the target unchanged) by deleting
    /// exactly the value read and adding the new one in one modify (if anyone changed it since,
    /// the modify fails whole). The marker is written first and taken back if the CNAME cannot
    /// be written, so nothing is left half-written.
    pub async fn ensure_alias_cname(
        &self,
        zone: &str,
        alias: &str,
        target: &str,
        ttl: u32,
        owner: &AliasOwner,
    ) -> Result<CnameChange, DirectoryError> {
        let op = "ensure alias CNAME";
        owner.validate()?;
        let AliasNodes {
            fqdn,
            zone_dn,
            node_dn,
            marker_dn,
            node,
            marker,
        } = self.alias_nodes(zone, alias).await?;
        let serial = self.zone_serial(&zone_dn).await;
        let want = DnsRecord::cname(target, ttl, serial)
            .map_err(|e| DirectoryError::new(K::InvalidInput, op, format!("target {target:?}: {e}")))?;
        let RecordData::Cname(want_target) = &want.data else {
            return Err(DirectoryError::new(K::Protocol, op, "not a CNAME"));
        };
        let ours = Self::owned(&marker, owner);
        if marker.is_live() && !ours {
            let who = marker
                .txts()
                .iter()
                .find_map(|t| parse_marker(t))
                .map(|(o, s)| format!(" (fsxn-lattice owner {o}, SVM {s})"))
                .unwrap_or_default();
            return Err(DirectoryError::new(
                K::RecordNotOurs,
                op,
                format!(
                    "{MARKER_LABEL}.{fqdn} holds {} not ours{who}: {fqdn} is not ours and is left alone",
                    marker.types()
                ),
            )
            .held_by(marker_dn));
        }
        if node.is_live() {
            if !ours {
                return Err(DirectoryError::new(
                    K::RecordNotOurs,
                    op,
                    format!("{fqdn} already has {} in AD DNS without our ownership marker: it is not ours and is not overwritten", node.types()),
                )
                .held_by(node_dn));
            }
            let cnames: Vec<&(Vec<u8>, Option<DnsRecord>)> = node
                .live
                .iter()
                .filter(|(_, r)| r.as_ref().is_some_and(|r| r.record_type() == TYPE_CNAME))
                .collect();
            if cnames.len() != node.live.len() {
                return Err(DirectoryError::new(
                    K::RecordNotOurs,
                    op,
                    format!(
                        "{fqdn} holds {} besides our CNAME: someone else wrote there; left alone",
                        node.types()
                    ),
                )
                .held_by(node_dn));
            }
            let current: Vec<String> = cnames
                .iter()
                .filter_map(|(_, r)| match r.as_ref().map(|r| &r.data) {
                    Some(RecordData::Cname(t)) => Some(t.clone()),
                    _ => None,
                })
                .collect();
            let old_ttl = cnames.iter().find_map(|(_, r)| r.as_ref().map(|r| r.ttl));
            // `current` holds one target per CNAME value read: one, at the target, is ours as it is
            // but for the TTL.
            let same_target = current.len() == 1 && &current[0] == want_target;
            if same_target && old_ttl == Some(ttl) {
                return Ok(CnameChange::Unchanged);
            }
            let value = want
                .encode()
                .map_err(|e| DirectoryError::new(K::InvalidInput, op, e.to_string()))?;
            let old: HashSet<Vec<u8>> = cnames.iter().map(|(raw, _)| raw.clone()).collect();
            let mods = vec![
                Mod::Delete(b"dnsRecord".to_vec(), old),
                Mod::Add(b"dnsRecord".to_vec(), HashSet::from([value])),
            ];
            self.modify(op, &node_dn, mods).await.map_err(|mut e| {
                if e.kind == K::Protocol {
                    // noSuchAttribute (16): the value we read is gone: someone wrote since.
                    e.kind = K::Conflict;
                }
                e
            })?;
            return Ok(match (same_target, old_ttl) {
                (true, Some(from)) => CnameChange::TtlChanged { from, to: ttl },
                _ => CnameChange::Repointed {
                    from: current.join(","),
                },
            });
        }
        // Absent (or tombstoned): the marker first, then the CNAME; the marker back out if the
        // CNAME cannot be written.
        let created_marker = !ours;
        if created_marker {
            let txt = DnsRecord::txt(&owner.marker(), ttl, serial)
                .map_err(|e| DirectoryError::new(K::InvalidInput, op, e.to_string()))?;
            self.put_node(op, &marker_dn, &marker, &txt).await.map_err(|mut e| {
                if e.kind == K::Conflict {
                    e.kind = K::RecordNotOurs;
                    e.message = format!(
                        "{MARKER_LABEL}.{fqdn} was written by someone else meanwhile: {}",
                        e.message
                    );
                }
                e
            })?;
        }
        if let Err(mut e) = self.put_node(op, &node_dn, &node, &want).await {
            if created_marker && let Err(undo) = self.delete_dn(op, &marker_dn).await {
                e.message = format!(
                    "{}; and the ownership marker {marker_dn} could not be taken back: {undo}",
                    e.message
                );
            }
            if e.kind == K::Conflict {
                e.kind = K::RecordNotOurs;
                e.message = format!("{fqdn} was written by someone else meanwhile: {}", e.message);
            }
            return Err(e);
        }
        Ok(CnameChange::Created)
    }

    /// Withdraws our alias: the CNAME values (the node when nothing else is in it) and then the
    /// marker. A name without our marker is left alone ([`CnameChange::LeftAlone`]).
    pub async fn remove_alias_cname(
        &self,
        zone: &str,
        alias: &str,
        owner: &AliasOwner,
    ) -> Result<CnameChange, DirectoryError> {
        let op = "remove alias CNAME";
        owner.validate()?;
        let AliasNodes {
            fqdn,
            node_dn,
            marker_dn,
            node,
            marker,
            ..
        } = self.alias_nodes(zone, alias).await?;
        if !Self::owned(&marker, owner) {
            return Ok(if node.is_live() || marker.is_live() {
                CnameChange::LeftAlone(format!("{fqdn} has no ownership marker of ours: not ours, not removed"))
            } else {
                CnameChange::Absent
            });
        }
        let cnames: HashSet<Vec<u8>> = node
            .live
            .iter()
            .filter(|(_, r)| r.as_ref().is_some_and(|r| r.record_type() == TYPE_CNAME))
            .map(|(raw, _)| raw.clone())
            .collect();
        if !cnames.is_empty() {
            if cnames.len() == node.live.len() {
                self.delete_dn(op, &node_dn).await?;
            } else {
                self.modify(op, &node_dn, vec![Mod::Delete(b"dnsRecord".to_vec(), cnames)])
                    .await?;
            }
        }
        let ours_txt: HashSet<Vec<u8>> = marker
            .live
            .iter()
            .filter(|(_, r)| match r.as_ref().map(|r| &r.data) {
                Some(RecordData::Txt(s)) => {
                    let t: String = s.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
                    parse_marker(&t).is_some_and(|(o, sv)| o == owner.owner && sv == owner.svm)
                }
                _ => false,
            })
            .map(|(raw, _)| raw.clone())
            .collect();
        if ours_txt.len() == marker.live.len() {
            self.delete_dn(op, &marker_dn).await?;
        } else {
            self.modify(op, &marker_dn, vec![Mod::Delete(b"dnsRecord".to_vec(), ours_txt)])
                .await?;
        }
        Ok(CnameChange::Removed)
    }

    /// The alias name's state in AD DNS, read-only: `free`, `ours -> <target>`, or
    /// `not ours: …`.
    pub async fn alias_state(&self, zone: &str, alias: &str, owner: &AliasOwner) -> Result<String, DirectoryError> {
        let AliasNodes { node, marker, .. } = self.alias_nodes(zone, alias).await?;
        let ours = Self::owned(&marker, owner);
        Ok(match (node.is_live(), marker.is_live(), ours) {
            (false, false, _) => "free".to_string(),
            (_, _, true) => {
                let targets: Vec<String> = node
                    .live
                    .iter()
                    .filter_map(|(_, r)| match r.as_ref().map(|r| &r.data) {
                        Some(RecordData::Cname(t)) => Some(t.clone()),
                        _ => None,
                    })
                    .collect();
                format!(
                    "ours -> {}",
                    if targets.is_empty() {
                        "(no CNAME yet)".to_string()
                    } else {
                        targets.join(",")
                    }
                )
            }
            (_, _, false) => format!(
                "not ours: holds {} without our ownership marker",
                [node.types(), marker.types()]
                    .iter()
                    .filter(|t| !t.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" / ")
            ),
        })
    }

    /// The alias's name and its marker in `zone` as the planner reads them
    /// ([`fsxn_lattice_core::directory::AliasDnsState`]): CNAME targets, other record types
    /// (never ours), and the marker's TXT strings.
    pub async fn read_alias(
        &self,
        zone: &str,
        alias: &str,
    ) -> Result<fsxn_lattice_core::directory::AliasDnsState, DirectoryError> {
        let AliasNodes { node, marker, .. } = self.alias_nodes(zone, alias).await?;
        let mut state = fsxn_lattice_core::directory::AliasDnsState::default();
        for (_, r) in &node.live {
            match r.as_ref().map(|r| &r.data) {
                Some(RecordData::Cname(t)) => {
                    state.cname_targets.push(t.clone());
                    state.ttl = state.ttl.or(r.as_ref().map(|r| r.ttl));
                }
                Some(RecordData::Txt(_)) => state.other_types.push("TXT".into()),
                Some(RecordData::A(_)) => state.other_types.push("A".into()),
                Some(_) => state.other_types.push(format!(
                    "type {}",
                    r.as_ref().map(|r| r.record_type()).unwrap_or_default()
                )),
                None => state.other_types.push("unreadable".into()),
            }
        }
        state.other_types.sort();
        state.other_types.dedup();
        state.markers = marker.txts();
        // Anything else at the marker's name (not TXT) makes it foreign.
        if marker.live.len() > state.markers.len() {
            state.markers.push("(a record that is not a marker)".into());
        }
        Ok(state)
    }

    /// Every ownership marker in `zone`, whoever's: each live TXT string of each node
    /// `_fsxn-lattice.<label…>` as `(alias FQDN, TXT string)`, sorted. One paged subtree search
    /// of the zone's container; tombstoned nodes and values are left out, and so are values that
    /// are not TXT (they make no marker).
    pub async fn list_alias_markers(&self, zone: &str) -> Result<Vec<(String, String)>, DirectoryError> {
        let op = "list alias markers";
        let zone = crate::dnsp::normalize_name(zone)
            .map_err(|e| DirectoryError::new(K::InvalidInput, op, format!("zone {zone:?}: {e}")))?;
        let zone_dn = self.find_zone(&zone).await?;
        let prefix = format!("{MARKER_LABEL}.");
        let filter = format!("(&(objectClass=dnsNode)(name={}*))", escape_filter(&prefix));
        let mut out = Vec::new();
        for e in self
            .search_paged(
                &zone_dn,
                Scope::Subtree,
                &filter,
                &["name", "dnsRecord", "dNSTombstoned"],
            )
            .await?
        {
            let Some(name) = strings(&e, "name").into_iter().next() else {
                continue;
            };
            // The filter matched case-insensitively; so does this.
            let rel = match name.get(..prefix.len()) {
                Some(p) if p.eq_ignore_ascii_case(&prefix) => &name[prefix.len()..],
                _ => continue,
            };
            if rel.is_empty() {
                continue;
            }
            let Ok(alias) = crate::dnsp::normalize_name(&format!("{rel}.{zone}")) else {
                continue;
            };
            for txt in Node::from_entry(&e).txts() {
                out.push((alias.clone(), txt));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Whether the bound account may create `dnsNode` objects in the zone (the DC's
    /// `allowedChildClassesEffective`, computed for the caller).
    pub async fn can_create_nodes(&self, zone_dn: &str) -> Result<bool, DirectoryError> {
        let e = self
            .search(
                zone_dn,
                Scope::Base,
                "(objectClass=*)",
                &["allowedChildClassesEffective"],
            )
            .await?;
        Ok(e.first().is_some_and(|e| {
            strings(e, "allowedChildClassesEffective")
                .iter()
                .any(|c| c.eq_ignore_ascii_case("dnsNode"))
        }))
    }

    /// The attributes of `dn` the bound account may write (`allowedAttributesEffective`).
    pub async fn writable_attributes(&self, dn: &str) -> Result<Vec<String>, DirectoryError> {
        let e = self
            .search(dn, Scope::Base, "(objectClass=*)", &["allowedAttributesEffective"])
            .await?;
        Ok(e.first()
            .map(|e| strings(e, "allowedAttributesEffective"))
            .unwrap_or_default())
    }
}
/// What a computer search reads.
const COMPUTER_ATTRS: [&str; 5] = [
    ATTR_SPN,
    ATTR_ADDITIONAL_DNS,
    ATTR_GUID,
    ATTR_DNS_HOST_NAME,
    "sAMAccountName",
];

/// What [`Directory::alias_nodes`] read.
struct AliasNodes {
    /// The alias, fully qualified.
    fqdn: String,
    /// The zone's container.
    zone_dn: String,
    /// The alias's `dnsNode`.
    node_dn: String,
    /// The ownership marker's `dnsNode` beside it.
    marker_dn: String,
    /// What the alias's node holds.
    node: Node,
    /// What the marker's node holds.
    marker: Node,
}
