//! Secrets Manager: the directory bind account's secret (`[directory] secret_arn`), read by the
//! Directory function only (its role may `secretsmanager:GetSecretValue` on that one secret).
//! The value is handed on as it is and never logged: only its length is known here.

use crate::error::{malformed, translate};
use aws_sdk_secretsmanager::Client;
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::ports::CloudResult;

/// The Secrets Manager adapter.
#[derive(Debug, Clone)]
pub struct AwsSecrets {
    client: Client,
}

impl AwsSecrets {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// `GetSecretValue` of the current version (`AWSCURRENT`): its `SecretString`. A secret
    /// stored as binary only is `InvalidInput` (the bind secret is JSON text: docs/config.md).
    pub async fn get_secret_string(&self, secret_id: &str) -> CloudResult<String> {
        const OP: &str = "GetSecretValue";
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        match out.secret_string() {
            Some(s) => Ok(s.to_string()),
            None if out.secret_binary().is_some() => Err(CloudError::new(
                ErrorKind::InvalidInput,
                OP,
                "BinarySecret",
                format!(
                    "{secret_id} holds a binary value: the bind secret must be a JSON string {{\"username\": …, \"password\": …}}"
                ),
            )),
            None => Err(malformed(OP, "SecretString")),
        }
    }
}
