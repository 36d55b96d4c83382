//! Development data keys: let `hearth serve` (embedded mode) seal personal data without a
//! configured Secret, with exactly the code path production uses.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize as _, Zeroizing};

use crate::error::PrivacyError;
use crate::key::{BlindIndexKey, DataKey, KeyId, fill_random};
use crate::keyring::{Keyring, KeyringOptions};

/// File name of the development keys (TOML, mode 0600 on Unix).
pub const DEVELOPMENT_KEYS_FILE: &str = "dev-data-keys.toml";

const HEADER: &str = "\
# Hearth development data keys, written by `hearth serve`. NOT for production.
# Whatever was sealed with these keys is lost if this file is lost: back it up with the data.
";

/// A keyring kept in a data directory: one data key (id `dev-` and 8 random hex digits) and a
/// blind-index key, generated on first use.
///
/// Not for production: anyone who can read the directory can read the personal data. Debug
/// shows the path and key ids only.
pub struct DevelopmentKeys {
    keyring: Keyring,
    path: PathBuf,
}

impl fmt::Debug for DevelopmentKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevelopmentKeys")
            .field("path", &self.path)
            .field("keyring", &self.keyring)
            .finish()
    }
}

/// The file's shape: the same as [`KeyringOptions`], so an operator sees what production
/// configures.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    current: String,
    blind_index_key: String,
    keys: Vec<KeyFileEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileEntry {
    id: String,
    material: String,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.blind_index_key.zeroize();
        for entry in &mut self.keys {
            entry.material.zeroize();
        }
    }
}

impl DevelopmentKeys {
    /// Loads the keys from `dir`, or generates and saves them if there is no key file yet.
    pub fn load_or_generate(dir: &Path) -> Result<Self, PrivacyError> {
        if dir.join(DEVELOPMENT_KEYS_FILE).exists() {
            return Self::load(dir);
        }
        match Self::generate_into(dir) {
            Ok(keys) => Ok(keys),
            // Another process created it between our check and our write: use theirs.
            Err(PrivacyError::Write { error: source, .. })
                if source.kind() == io::ErrorKind::AlreadyExists =>
            {
                Self::load(dir)
            }
            Err(error) => Err(error),
        }
    }

    /// Loads the keys from `dir`; refuses a missing or malformed file.
    pub fn load(dir: &Path) -> Result<Self, PrivacyError> {
        let path = dir.join(DEVELOPMENT_KEYS_FILE);
        let text =
            Zeroizing::new(
                fs::read_to_string(&path).map_err(|source| PrivacyError::Read {
                    path: path.clone(),
                    error: source,
                })?,
            );
        warn_if_readable_by_others(&path);
        let invalid = |reason: String| PrivacyError::InvalidKeyFile {
            path: path.clone(),
            reason,
        };
        // The parser's own message quotes the offending line, which may hold key material.
        let file: KeyFile = toml::from_str(&text).map_err(|_| {
            invalid(
                "not the TOML Hearth writes (`current`, `blind_index_key` and `[[keys]]` with `id` and `material`)"
                    .to_owned(),
            )
        })?;
        let options = KeyringOptions {
            keys: file
                .keys
                .iter()
                .map(|entry| (entry.id.clone(), entry.material.clone()))
                .collect(),
            current: file.current.clone(),
            blind_index_key: file.blind_index_key.clone(),
        };
        let keyring = Keyring::new(&options).map_err(|error| invalid(error.to_string()))?;
        Ok(Self { keyring, path })
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The keyring, by value.
    pub fn into_keyring(self) -> Keyring {
        self.keyring
    }

    /// The key file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn generate_into(dir: &Path) -> Result<Self, PrivacyError> {
        let mut suffix = [0u8; 4];
        fill_random(&mut suffix)?;
        let id = KeyId::parse(&format!(
            "dev-{:02x}{:02x}{:02x}{:02x}",
            suffix[0], suffix[1], suffix[2], suffix[3]
        ))?;
        let data_key = DataKey::generate(id.clone())?;
        let blind_index_key = BlindIndexKey::generate()?;
        let file = KeyFile {
            current: id.to_string(),
            blind_index_key: blind_index_key.material_base64().to_string(),
            keys: vec![KeyFileEntry {
                id: id.to_string(),
                material: data_key.material_base64().to_string(),
            }],
        };
        let body = Zeroizing::new(toml::to_string(&file).map_err(|error| {
            PrivacyError::InvalidKeyFile {
                path: dir.join(DEVELOPMENT_KEYS_FILE),
                reason: format!("cannot encode: {error}"),
            }
        })?);
        let contents = Zeroizing::new(format!("{HEADER}{}", body.as_str()));

        fs::create_dir_all(dir).map_err(|source| PrivacyError::Write {
            path: dir.to_path_buf(),
            error: source,
        })?;
        let path = dir.join(DEVELOPMENT_KEYS_FILE);
        write_private_file(&path, contents.as_bytes())?;
        let keyring = Keyring::from_keys(vec![data_key], &id, &blind_index_key)?;
        Ok(Self { keyring, path })
    }
}

/// Creates the file with mode 0600 from the start (no window where others can read it) and
/// never overwrites one.
fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), PrivacyError> {
    hearth_keyfile::create_private(path, contents).map_err(|source| PrivacyError::Write {
        path: path.to_path_buf(),
        error: source,
    })
}

fn warn_if_readable_by_others(path: &Path) {
    if hearth_keyfile::readable_by_others(path) {
        tracing::warn!(
            path = %path.display(),
            "development data keys are readable by other users; chmod 600 them"
        );
    }
}
