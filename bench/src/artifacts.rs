//! Sizes of the release binaries and of the Lambda zips made from them (`bootstrap` at the
//! zip's root, deflated, as `sam build` / `cargo lambda build --output-format zip` package it).

use serde::Serialize;
use std::path::Path;
use std::process::Command;

/// One artifact.
#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    /// Binary name.
    pub name: String,
    /// Binary size, bytes.
    pub binary_bytes: u64,
    /// Zip size, bytes (`None` for binaries that are not deployed as Lambdas).
    pub zip_bytes: Option<u64>,
}

/// Why an artifact could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The binary is missing: build it first.
    #[error("{0} not found: build it with `cargo build --release` first")]
    Missing(String),
    /// Zipping failed.
    #[error("zipping {name}: {message}")]
    Zip {
        /// Binary name.
        name: String,
        /// What went wrong.
        message: String,
    },
}

/// Measures `name` in `dir`; zips it as `bootstrap` with Python's zipfile (deflate) when `zip`.
pub fn measure(dir: &Path, name: &str, zip: bool) -> Result<Artifact, ArtifactError> {
    let bin = dir.join(name);
    let binary_bytes = std::fs::metadata(&bin)
        .map_err(|_| ArtifactError::Missing(bin.display().to_string()))?
        .len();
    let zip_bytes = if zip {
        let out = std::env::temp_dir().join(format!("fsxn-lattice-bench-{name}.zip"));
        let script = "import sys, zipfile\n\
                      with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:\n\
                      \x20   i = zipfile.ZipInfo('bootstrap'); i.external_attr = 0o755 << 16; i.compress_type = zipfile.ZIP_DEFLATED\n\
                      \x20   z.writestr(i, open(sys.argv[1], 'rb').read())\n";
        let status = Command::new("python3")
            .args(["-c", script])
            .arg(&bin)
            .arg(&out)
            .status()
            .map_err(|e| ArtifactError::Zip {
                name: name.into(),
                message: e.to_string(),
            })?;
        if !status.success() {
            return Err(ArtifactError::Zip {
                name: name.into(),
                message: format!("python3 zipfile exited {status}"),
            });
        }
        let size = std::fs::metadata(&out).map(|m| m.len()).ok();
        let _ = std::fs::remove_file(&out);
        size
    } else {
        None
    };
    Ok(Artifact {
        name: name.into(),
        binary_bytes,
        zip_bytes,
    })
}
