//! Where the directory is, how to trust it, and who we are to it.

use crate::error::{DirectoryError, DirectoryErrorKind};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// The directory settings (configuration; no secret in them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySettings {
    /// The AD domain's DNS name (`corp.example.com`).
    pub domain: String,
    /// Domain controllers to use, in order. Empty: located through DNS SRV
    /// `_ldap._tcp.<domain>` (lowest priority first, then highest weight).
    #[serde(default)]
    pub domain_controllers: Vec<DomainController>,
    /// DNS servers for the SRV lookup and for the SRV targets' addresses (AD DCs are DNS
    /// servers; an AWS Managed Microsoft AD lists its DNS addresses). Empty: the system's
    /// resolver configuration (`/etc/resolv.conf`).
    #[serde(default)]
    pub dns_servers: Vec<IpAddr>,
    /// TLS to the DCs.
    #[serde(default)]
    pub tls: TlsSettings,
    /// Also search the global catalog (TLS, port 3269, same DC) for SPN holders across the
    /// forest; when it cannot be reached, the domain alone is searched (reported by `check`).
    #[serde(default = "yes")]
    pub global_catalog: bool,
    /// Connect and per-operation timeout, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn yes() -> bool {
    true
}

fn default_timeout() -> u64 {
    10
}

impl DirectorySettings {
    /// Settings for `domain` with its DCs located through DNS, LDAPS verified against the
    /// system's roots.
    pub fn new(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            domain_controllers: Vec::new(),
            dns_servers: Vec::new(),
            tls: TlsSettings::default(),
            global_catalog: true,
            timeout_seconds: default_timeout(),
        }
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.max(1))
    }

    /// Refuses settings that cannot mean what they say: `tls.insecure_skip_verify` with a
    /// `tls.ca_bundle_pem` ([`DirectoryErrorKind::InvalidInput`]), since the switch verifies no
    /// certificate and the bundle would be silently ignored. The same rule as the `[directory]`
    /// section's ([`fsxn_lattice_core::config::DirectoryConfigError::InsecureWithCaBundle`]), for
    /// settings built in code or read from JSON.
    pub fn validate(&self) -> Result<(), DirectoryError> {
        if self.tls.insecure_skip_verify && self.tls.ca_bundle_pem.is_some() {
            return Err(DirectoryError::new(
                DirectoryErrorKind::InvalidInput,
                "TLS settings",
                fsxn_lattice_core::config::DirectoryConfigError::InsecureWithCaBundle.to_string(),
            ));
        }
        Ok(())
    }
}

// The connection details are read from core's `[directory]` section
// (`fsxn_lattice_core::config::DirectoryConfig`); the types live there so that the core needs no
// LDAP or TLS library to parse and validate them.
pub use fsxn_lattice_core::config::{DomainController, TlsMode, TlsSettings};

impl From<&fsxn_lattice_core::config::DirectoryConfig> for DirectorySettings {
    /// The connection settings of a `[directory]` section (its `secret_arn` and `zone` are the
    /// caller's: credentials come from Secrets Manager, the zone goes to each DNS call).
    fn from(c: &fsxn_lattice_core::config::DirectoryConfig) -> Self {
        Self {
            domain: c.domain.clone(),
            domain_controllers: c.domain_controllers.clone(),
            dns_servers: c.dns_servers.clone(),
            tls: c.tls.clone(),
            global_catalog: c.global_catalog,
            timeout_seconds: c.timeout_seconds,
        }
    }
}

/// Who we bind as. The password is never printed: `Debug` redacts it and nothing logs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The bind name: a user principal name (`svc-fsxnl@corp.example.com`), `DOMAIN\user`, or
    /// a DN.
    pub username: String,
    password: String,
}

impl Credentials {
    /// New credentials.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The password, for the bind.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Reads a Secrets Manager secret string `{"username": "…", "password": "…"}` (the form
    /// AWS documents for directory service accounts). Errors never quote the secret.
    pub fn from_secret_json(secret: &str) -> Result<Self, DirectoryError> {
        let bad =
            |why: &str| DirectoryError::new(DirectoryErrorKind::InvalidInput, "read credentials", why.to_string());
        let v: serde_json::Value = serde_json::from_str(secret).map_err(|_| bad("the secret is not a JSON object"))?;
        let field = |k: &str| v.get(k).and_then(serde_json::Value::as_str).map(str::to_string);
        let username = field("username").ok_or_else(|| bad("the secret has no string field \"username\""))?;
        let password = field("password").ok_or_else(|| bad("the secret has no string field \"password\""))?;
        let c = Self::new(username, password);
        c.validate()?;
        Ok(c)
    }

    /// The optional `ca_bundle_pem` field of the same secret: the PEM CA bundle that issues
    /// the DCs' certificates (an enterprise AD CS root, as AWS Managed Microsoft AD's LDAPS
    /// uses), for deployments whose configuration comes from stack parameters, where a PEM
    /// chain does not fit. `None` when absent; a field that is not a string is `InvalidInput`.
    pub fn ca_bundle_from_secret_json(secret: &str) -> Result<Option<String>, DirectoryError> {
        let bad =
            |why: &str| DirectoryError::new(DirectoryErrorKind::InvalidInput, "read credentials", why.to_string());
        let v: serde_json::Value = serde_json::from_str(secret).map_err(|_| bad("the secret is not a JSON object"))?;
        match v.get("ca_bundle_pem") {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(pem)) => Ok(Some(pem.clone())),
            Some(_) => Err(bad("the secret's field \"ca_bundle_pem\" is not a string")),
        }
    }

    /// Refuses credentials that LDAP would take for an anonymous or unauthenticated bind (an
    /// empty password binds "successfully" as nobody, RFC 4513 §5.1.2).
    pub fn validate(&self) -> Result<(), DirectoryError> {
        if self.username.trim().is_empty() {
            return Err(DirectoryError::new(
                DirectoryErrorKind::InvalidInput,
                "bind",
                "empty user name",
            ));
        }
        if self.password.is_empty() {
            return Err(DirectoryError::new(
                DirectoryErrorKind::InvalidInput,
                "bind",
                "empty password (LDAP would bind without authenticating)",
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let c = Credentials::new("svc@corp.example", "hunter2-Secret!");
        let d = format!("{c:?} {c:#?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("svc@corp.example") && d.contains("<redacted>"));
    }

    #[test]
    fn secret_json_errors_do_not_quote_the_secret() {
        let c = Credentials::from_secret_json(r#"{"username":"svc@corp.example","password":"p@ss"}"#).unwrap();
        assert_eq!(c.password(), "p@ss");
        for bad in [
            r#"{"username":"svc","password":12345678}"#,
            r#"{"username":"svc","pass":"topsecret-value"}"#,
            r#"topsecret-value"#,
            r#"{"username":"svc","password":""}"#,
        ] {
            let e = Credentials::from_secret_json(bad).unwrap_err();
            assert_eq!(e.kind, DirectoryErrorKind::InvalidInput);
            assert!(
                !e.to_string().contains("topsecret") && !e.to_string().contains("12345678"),
                "{e}"
            );
        }
    }

    #[test]
    fn the_secret_may_carry_the_ca_bundle() {
        let with = r#"{"username":"svc","password":"p","ca_bundle_pem":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}"#;
        let pem = Credentials::ca_bundle_from_secret_json(with).unwrap().unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(
            Credentials::ca_bundle_from_secret_json(r#"{"username":"svc","password":"p"}"#).unwrap(),
            None
        );
        let e =
            Credentials::ca_bundle_from_secret_json(r#"{"username":"svc","password":"topsecret","ca_bundle_pem":7}"#)
                .unwrap_err();
        assert_eq!(e.kind, DirectoryErrorKind::InvalidInput);
        assert!(!e.to_string().contains("topsecret"), "{e}");
    }

    #[test]
    fn settings_read_from_config_with_defaults() {
        let s: DirectorySettings = serde_json::from_str(
            r#"{"domain":"corp.example.com","domain_controllers":[{"host":"dc1.corp.example.com"}],
                "tls":{"mode":"start-tls","ca_bundle_pem":"-----BEGIN CERTIFICATE-----"}}"#,
        )
        .unwrap();
        assert_eq!(s.tls.mode, TlsMode::StartTls);
        assert!(!s.tls.insecure_skip_verify && s.global_catalog);
        assert_eq!(s.timeout(), Duration::from_secs(10));
        assert!(serde_json::from_str::<DirectorySettings>(r#"{"domain":"x","password":"no"}"#).is_err());
    }

    #[test]
    fn the_insecure_switch_with_a_ca_bundle_is_refused() {
        let mut s = DirectorySettings::new("corp.example.com");
        s.tls.ca_bundle_pem = Some("-----BEGIN CERTIFICATE-----".into());
        assert_eq!(s.validate(), Ok(()));
        s.tls.insecure_skip_verify = true;
        let e = s.validate().unwrap_err();
        assert_eq!(e.kind, DirectoryErrorKind::InvalidInput);
        assert!(
            e.message.contains("insecure_skip_verify") && e.message.contains("ca_bundle_pem"),
            "{e}"
        );
        // The TLS configuration (what `connect` builds first) refuses it too.
        assert_eq!(
            crate::directory::tls_config(&s).unwrap_err().kind,
            DirectoryErrorKind::InvalidInput
        );
        s.tls.ca_bundle_pem = None;
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn settings_come_from_the_config_section() {
        let mut c = fsxn_lattice_core::config::DirectoryConfig::new(
            "corp.example.com",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:ad-AbCdEf",
        );
        c.domain_controllers.push(DomainController::new("dc1.corp.example.com"));
        c.timeout_seconds = 7;
        let s = DirectorySettings::from(&c);
        assert_eq!(s.domain, "corp.example.com");
        assert_eq!(s.domain_controllers, c.domain_controllers);
        assert_eq!(s.timeout(), Duration::from_secs(7));
    }
}
