//! Errors of the directory, by what went wrong, each mapped onto the project's [`ErrorKind`]
//! (what a caller should do about it).

use fsxn_lattice_core::error::ErrorKind;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryErrorKind {
    /// No domain controller answered (refused, timed out, name or SRV lookup failed): retry.
    Unreachable,
    /// The DC's certificate does not verify against the CA bundle (or the TLS handshake failed):
    /// fix the bundle or the DC, do not retry.
    UntrustedCertificate,
    /// The bind was refused: wrong user name or password, expired or locked account.
    InvalidCredentials,
    /// Bound, but the account may not read or write what it must.
    InsufficientRights,
    /// The computer object or the DNS zone does not exist.
    NotFound,
    /// An SPN or host name we would add is held by another account: never taken from it.
    SpnTaken,
    /// A DNS name we would write holds a record that is not ours: never overwritten.
    RecordNotOurs,
    /// The directory refused a write that conflicts with what it holds (a duplicate value, an
    /// entry that exists): someone wrote since we read. Re-read.
    Conflict,
    /// The settings or arguments are wrong (a name, a PEM bundle, an empty password).
    InvalidInput,
    /// The DC is busy or unavailable for now (LDAP busy/unavailable, a timeout mid-operation).
    Busy,
    /// An answer we do not understand.
    Protocol,
}

impl DirectoryErrorKind {
    /// The project's error kind for it.
    pub fn error_kind(self) -> ErrorKind {
        match self {
            Self::Unreachable | Self::Busy => ErrorKind::Transient,
            Self::UntrustedCertificate | Self::InvalidInput => ErrorKind::InvalidInput,
            Self::InvalidCredentials | Self::InsufficientRights => ErrorKind::AccessDenied,
            Self::NotFound => ErrorKind::NotFound,
            Self::SpnTaken | Self::RecordNotOurs | Self::Conflict => ErrorKind::Conflict,
            Self::Protocol => ErrorKind::Internal,
        }
    }

    /// A stable name for logs and tags.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreachable => "Unreachable",
            Self::UntrustedCertificate => "UntrustedCertificate",
            Self::InvalidCredentials => "InvalidCredentials",
            Self::InsufficientRights => "InsufficientRights",
            Self::NotFound => "NotFound",
            Self::SpnTaken => "SpnTaken",
            Self::RecordNotOurs => "RecordNotOurs",
            Self::Conflict => "Conflict",
            Self::InvalidInput => "InvalidInput",
            Self::Busy => "Busy",
            Self::Protocol => "Protocol",
        }
    }
}

impl std::fmt::Display for DirectoryErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed directory operation. Never carries a password: messages are built from LDAP result
/// codes and diagnostic texts, names and DNs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed ({kind}): {message}")]
pub struct DirectoryError {
    /// What went wrong.
    pub kind: DirectoryErrorKind,
    /// What was being done (`bind`, `ensure_spn`, …).
    pub operation: String,
    /// What happened, for a person.
    pub message: String,
    /// For [`DirectoryErrorKind::SpnTaken`] and [`DirectoryErrorKind::RecordNotOurs`]: the DN of
    /// the object that holds the value.
    pub holder_dn: Option<String>,
}

impl DirectoryError {
    /// A new error.
    pub fn new(kind: DirectoryErrorKind, operation: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            operation: operation.to_string(),
            message: message.into(),
            holder_dn: None,
        }
    }

    /// The same, naming the object that holds the contested value.
    pub fn held_by(mut self, dn: impl Into<String>) -> Self {
        self.holder_dn = Some(dn.into());
        self
    }

    /// The project's error kind.
    pub fn error_kind(&self) -> ErrorKind {
        self.kind.error_kind()
    }

    /// Translates an ldap3 error.
    pub(crate) fn from_ldap(operation: &str, e: ldap3::LdapError) -> Self {
        use ldap3::LdapError as L;
        match e {
            L::LdapResult { result } => Self::from_result(operation, result.rc, &result.text),
            L::Timeout { .. } => Self::new(
                DirectoryErrorKind::Busy,
                operation,
                "the domain controller did not answer in time",
            ),
            L::Io { source } => Self::from_io(operation, &source),
            L::Rustls { source } => Self::from_tls(operation, &source),
            L::DNSName { source } => Self::new(
                DirectoryErrorKind::InvalidInput,
                operation,
                format!("not a TLS server name: {source}"),
            ),
            L::OpSend { .. } | L::ResultRecv { .. } | L::IdScrubSend { .. } | L::MiscSend { .. } | L::EndOfStream => {
                Self::new(
                    DirectoryErrorKind::Unreachable,
                    operation,
                    format!("the connection to the domain controller was lost: {e}"),
                )
            }
            other => Self::new(DirectoryErrorKind::Protocol, operation, other.to_string()),
        }
    }

    /// Translates an I/O error: a TLS failure inside it, or an unreachable DC.
    pub(crate) fn from_io(operation: &str, e: &std::io::Error) -> Self {
        if let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            return Self::from_tls(operation, tls);
        }
        Self::new(DirectoryErrorKind::Unreachable, operation, e.to_string())
    }

    fn from_tls(operation: &str, e: &rustls::Error) -> Self {
        Self::new(
            DirectoryErrorKind::UntrustedCertificate,
            operation,
            format!(
                "TLS with the domain controller failed: {e} (check the CA bundle and the DC's certificate and name)"
            ),
        )
    }

    /// Translates an LDAP result code ([RFC 4511] appendix A.1) and AD's diagnostic text.
    pub(crate) fn from_result(operation: &str, rc: u32, text: &str) -> Self {
        let kind = match rc {
            49 => DirectoryErrorKind::InvalidCredentials,
            50 => DirectoryErrorKind::InsufficientRights,
            32 => DirectoryErrorKind::NotFound,
            51 | 52 | 3 => DirectoryErrorKind::Busy,
            // constraintViolation: AD/Samba refuse a duplicate SPN with it; entryAlreadyExists:
            // someone wrote the name since we read it.
            19 | 68 | 20 => DirectoryErrorKind::Conflict,
            8 | 13 => DirectoryErrorKind::InvalidInput,
            _ => DirectoryErrorKind::Protocol,
        };
        let what = match rc {
            49 => "invalid credentials (wrong user or password, or the account is disabled, expired or locked)",
            50 => "insufficient access rights",
            32 => "no such object",
            8 => "the DC requires a stronger authentication (a signed or TLS-protected bind)",
            13 => "the DC requires confidentiality (TLS)",
            19 => "constraint violation",
            20 => "the value is already present",
            68 => "the entry already exists",
            _ => "LDAP error",
        };
        let text = text.trim_matches(char::from(0)).trim();
        let message = if text.is_empty() {
            format!("{what} (LDAP {rc})")
        } else {
            format!("{what} (LDAP {rc}: {text})")
        };
        Self::new(kind, operation, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_onto_what_the_caller_does() {
        assert_eq!(
            DirectoryErrorKind::InvalidCredentials.error_kind(),
            ErrorKind::AccessDenied
        );
        assert_eq!(DirectoryErrorKind::Unreachable.error_kind(), ErrorKind::Transient);
        assert_eq!(
            DirectoryErrorKind::UntrustedCertificate.error_kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(DirectoryErrorKind::SpnTaken.error_kind(), ErrorKind::Conflict);
        assert_eq!(DirectoryErrorKind::RecordNotOurs.error_kind(), ErrorKind::Conflict);
        assert_eq!(DirectoryErrorKind::NotFound.error_kind(), ErrorKind::NotFound);
        let e = DirectoryError::from_result("bind", 49, "80090308: LdapErr: DSID-0C09041C, data 52e\0");
        assert_eq!(e.kind, DirectoryErrorKind::InvalidCredentials);
        assert!(e.message.ends_with("data 52e)"), "{}", e.message);
        assert_eq!(DirectoryError::from_result("x", 51, "").kind, DirectoryErrorKind::Busy);
        assert_eq!(
            DirectoryError::from_result("x", 50, "").error_kind(),
            ErrorKind::AccessDenied
        );
    }
}
