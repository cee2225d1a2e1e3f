//! `SdkError` → the core's [`CloudError`], by code (EC2's errors are unmodeled: only the code
//! tells them apart) and by HTTP status, keeping the operation, code and message.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fsxn_lattice_core::error::{CloudError, ErrorKind, classify_code};
use std::time::Duration;

/// What to do when the default credential chain found nothing: a configuration error, not a
/// transient one — retrying cannot help until credentials are provided.
pub const NO_CREDENTIALS_HELP: &str = "no AWS credentials: the SDK's default chain tried, in order, the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN), the shared config and credentials files (~/.aws/config, ~/.aws/credentials; profile from --profile or AWS_PROFILE, else `default`), web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), SSO and credential_process in that profile, the ECS container endpoint and the EC2 instance metadata service. Fix: pass --profile for a configured profile (`aws configure sso` / `aws sso login --profile P`), or export credentials; in Lambda they come from the function's execution role";

/// The credential-loading failure in `err`'s source chain that no retry can fix, if any.
fn credentials_problem(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    use aws_credential_types::provider::error::CredentialsError;
    let mut next = Some(err);
    while let Some(e) = next {
        match e.downcast_ref::<CredentialsError>() {
            Some(CredentialsError::CredentialsNotLoaded(_)) => return Some(NO_CREDENTIALS_HELP.to_string()),
            Some(CredentialsError::InvalidConfiguration(_)) => {
                return Some(format!(
                    "the AWS credential configuration is invalid: {}",
                    DisplayChain(e)
                ));
            }
            _ => next = e.source(),
        }
    }
    None
}

/// STS's refusal in `err`'s source chain, if the credentials came from a role (a consumer
/// account's session, refreshed by aws-config's `AssumeRoleProvider`) and STS refused them:
/// its code and message, so a role that stopped being assumable reads as `AccessDenied`, not
/// as a network error.
fn assume_role_refusal(err: &(dyn std::error::Error + 'static)) -> Option<(String, String, u16)> {
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(SdkError::ServiceError(ctx)) = e.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
            return Some((
                ctx.err().code().unwrap_or("Unknown").to_string(),
                ctx.err().message().unwrap_or_default().to_string(),
                ctx.raw().status().as_u16(),
            ));
        }
        next = e.source();
    }
    None
}

/// Translates an SDK error of operation `op`.
pub fn translate<E>(op: &str, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(why) = credentials_problem(&err) {
        return CloudError::new(ErrorKind::InvalidInput, op, "NoCredentials", why);
    }
    if let Some((code, message, status)) = assume_role_refusal(&err) {
        let mut kind = classify_code(&code, &message);
        if kind == ErrorKind::Internal && (status >= 500 || status == 429) {
            kind = ErrorKind::Transient;
        }
        return CloudError::new(
            kind,
            op,
            &code,
            format!("AssumeRole (the session's credentials): {message}"),
        );
    }
    match &err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = ctx.err().code().unwrap_or("Unknown").to_string();
            let message = ctx.err().message().unwrap_or_default().to_string();
            let mut kind = classify_code(&code, &message);
            if kind == ErrorKind::Internal && (status >= 500 || status == 429) {
                kind = ErrorKind::Transient;
            }
            // Lattice sends Retry-After in seconds; the SDK's retry strategy ignores it.
            let retry_after = ctx
                .raw()
                .headers()
                .get("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            CloudError {
                kind,
                operation: op.to_string(),
                code,
                message,
                retry_after,
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => CloudError::new(
            ErrorKind::Transient,
            op,
            "NetworkError",
            format!("{}", DisplayChain(&err)),
        ),
        _ => CloudError::new(
            ErrorKind::Internal,
            op,
            "ClientError",
            format!("{}", DisplayChain(&err)),
        ),
    }
}

/// An error and its sources on one line.
struct DisplayChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// A response the SDK accepted but that lacks a field we need.
pub fn malformed(op: &str, what: &str) -> CloudError {
    CloudError::new(
        ErrorKind::Internal,
        op,
        "MalformedResponse",
        format!("the response has no {what}"),
    )
}
