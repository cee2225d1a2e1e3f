//! Errors at the core's boundary, grouped by what the caller should do about them.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a caller should do about an error. The `as_str` names are a stable public API: Step
/// Functions `Retry`/`Catch` match on them and the CLI prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    /// Throttling, 5xx, timeouts: retry later with backoff.
    Transient,
    /// Something is still being created or deleted: poll again later.
    NotReady,
    /// The input (event, config, request) is wrong: do not retry until it changes.
    InvalidInput,
    /// The state conflicts with the request (name taken, still in use): re-read, re-plan.
    Conflict,
    /// The thing does not exist.
    NotFound,
    /// No aligned /28 can be had and nothing may be carved.
    CapacityExhausted,
    /// An AWS quota was reached.
    QuotaExceeded,
    /// Credentials or IAM do not allow the call.
    AccessDenied,
    /// A bug or an answer we do not understand.
    Internal,
}

impl ErrorKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "Transient",
            Self::NotReady => "NotReady",
            Self::InvalidInput => "InvalidInput",
            Self::Conflict => "Conflict",
            Self::NotFound => "NotFound",
            Self::CapacityExhausted => "CapacityExhausted",
            Self::QuotaExceeded => "QuotaExceeded",
            Self::AccessDenied => "AccessDenied",
            Self::Internal => "Internal",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed call to a cloud API, translated from whatever the adapter saw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{operation} failed ({kind}, {code}): {message}")]
pub struct CloudError {
    /// What to do about it.
    pub kind: ErrorKind,
    /// The API operation (`CreateResourceGateway`).
    pub operation: String,
    /// AWS's error code (`ThrottlingException`, `InvalidParameterValue`, …).
    pub code: String,
    /// AWS's message.
    pub message: String,
    /// A server-suggested delay (`Retry-After`), honoured by the retry loop.
    pub retry_after: Option<Duration>,
}

impl CloudError {
    /// A new error without retry hint.
    pub fn new(kind: ErrorKind, operation: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            operation: operation.to_string(),
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }
}

/// Classifies an AWS error code into an [`ErrorKind`]. EC2 codes arrive bare from the API and
/// with a `Client.`/`Server.` prefix in CloudTrail; both are accepted.
pub fn classify_code(code: &str, message: &str) -> ErrorKind {
    let bare = code
        .strip_prefix("Client.")
        .or_else(|| code.strip_prefix("Server."))
        .unwrap_or(code);
    match bare {
        "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "RequestLimitExceeded"
        | "PriorRequestNotComplete"
        | "InternalError"
        | "InternalFailure"
        | "InternalServerException"
        | "ServiceUnavailable"
        | "Unavailable"
        | "RequestTimeout"
        | "ServiceUnavailableException"
        // FSx's and Secrets Manager's own spellings (botocore: fsx, secretsmanager).
        | "InternalServerError"
        | "InternalServiceError" => ErrorKind::Transient,
        "InsufficientCidrBlocks" => ErrorKind::CapacityExhausted,
        "InvalidParameterValue" if message.starts_with(crate::events::INSUFFICIENT_IPS_MESSAGE) => {
            ErrorKind::CapacityExhausted
        }
        "ConflictException"
        | "IdempotentParameterMismatch"
        | "DependencyViolation"
        | "InvalidChangeBatch"
        | "Resource.AlreadyAssociated" => ErrorKind::Conflict,
        "ResourceNotFoundException" | "NoSuchHostedZone" | "NoSuchChange" | "ResourceNotFound" => ErrorKind::NotFound,
        c if c.ends_with(".NotFound") => ErrorKind::NotFound,
        "ServiceQuotaExceededException" | "VpcEndpointLimitExceeded" | "SubnetLimitExceeded" => {
            ErrorKind::QuotaExceeded
        }
        "AccessDeniedException" | "UnauthorizedOperation" | "AccessDenied" => ErrorKind::AccessDenied,
        // Secrets Manager: KMS refused to decrypt the secret for this role (the key policy).
        "DecryptionFailure" => ErrorKind::AccessDenied,
        "ValidationException"
        | "InvalidParameterValue"
        | "InvalidParameter"
        | "InvalidParameterException"
        | "InvalidInput"
        | "InvalidParameterCombination"
        | "MissingParameter"
        | "BadRequest"
        // Secrets Manager: the secret is scheduled for deletion; FSx: not a taggable resource.
        | "InvalidRequestException"
        | "ResourceDoesNotSupportTagging"
        | "NotServiceResourceError" => ErrorKind::InvalidInput,
        c if c.starts_with("Invalid") && c.ends_with(".Malformed") => ErrorKind::InvalidInput,
        c if c.starts_with("Invalid") && (c.ends_with(".Range") || c.ends_with(".Conflict")) => ErrorKind::InvalidInput,
        _ => ErrorKind::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_classify_with_or_without_the_cloudtrail_prefix() {
        assert_eq!(
            classify_code(
                "Client.InvalidParameterValue",
                "There aren't sufficient free Ipv4 addresses or prefixes"
            ),
            ErrorKind::CapacityExhausted
        );
        assert_eq!(
            classify_code("InsufficientCidrBlocks", ""),
            ErrorKind::CapacityExhausted
        );
        assert_eq!(
            classify_code("InvalidParameterValue", "bad subnet"),
            ErrorKind::InvalidInput
        );
        assert_eq!(classify_code("RequestLimitExceeded", ""), ErrorKind::Transient);
        assert_eq!(classify_code("PriorRequestNotComplete", ""), ErrorKind::Transient);
        assert_eq!(classify_code("InvalidVpcEndpointId.NotFound", ""), ErrorKind::NotFound);
        assert_eq!(classify_code("ConflictException", ""), ErrorKind::Conflict);
        assert_eq!(
            classify_code("ServiceQuotaExceededException", ""),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(classify_code("SomethingNew", ""), ErrorKind::Internal);
    }
}
