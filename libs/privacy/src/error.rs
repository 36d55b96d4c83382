//! Why a keyring could not be built or a sealed value could not be opened.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
///
/// Messages name key ids, lengths and file paths, never key material, plaintext or ciphertext,
/// so they are safe to log and to show in a start-up error.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// A key id that is empty, too long or has characters other than `A-Z a-z 0-9 - _ .`.
    #[error(
        "data key id `{id}` is not valid: use 1 to {max} characters of A-Z, a-z, 0-9, '-', '_' or '.'",
        max = crate::key::KEY_ID_MAX_LEN
    )]
    InvalidKeyId {
        /// The refused id (ids are names, not secrets).
        id: String,
    },
    /// A data key's material is not base64.
    #[error(
        "data key `{id}`: material is not valid standard base64 (generate one with `openssl rand -base64 32`)"
    )]
    KeyNotBase64 {
        /// The key's id.
        id: String,
    },
    /// A data key's material is not 32 bytes.
    #[error("data key `{id}`: material must be 32 bytes (256 bits) once base64-decoded, got {len}")]
    KeyLength {
        /// The key's id.
        id: String,
        /// The decoded length.
        len: usize,
    },
    /// The same id twice in a keyring.
    #[error("data key `{id}` is configured more than once: every key needs its own id")]
    DuplicateKeyId {
        /// The repeated id.
        id: String,
    },
    /// A keyring without data keys.
    #[error("no data keys configured: at least the current key is needed")]
    NoKeys,
    /// The current key id names none of the keys.
    #[error("the current data key `{current}` is not among the configured keys ({available})")]
    CurrentKeyMissing {
        /// The configured current id.
        current: String,
        /// The configured ids, comma-separated.
        available: String,
    },
    /// The blind-index key is not base64.
    #[error(
        "blind-index key is not valid standard base64 (generate one with `openssl rand -base64 32`)"
    )]
    BlindIndexKeyNotBase64,
    /// The blind-index key is not 32 bytes.
    #[error("blind-index key must be 32 bytes (256 bits) once base64-decoded, got {len}")]
    BlindIndexKeyLength {
        /// The decoded length.
        len: usize,
    },
    /// Sealed data names a key the keyring does not have.
    #[error(
        "data was sealed with data key `{id}`, which is not in the keyring (it has {available}): keep a retired key until everything sealed with it is re-sealed"
    )]
    UnknownKey {
        /// The key id the data names.
        id: String,
        /// The keyring's ids, comma-separated.
        available: String,
    },
    /// Shorter than a nonce and a tag: cut off, or not sealed data at all.
    #[error(
        "sealed data is truncated: {len} bytes, but a nonce and an authentication tag alone take {min}",
        min = crate::sealed::MIN_SEALED_LEN
    )]
    Truncated {
        /// The length found.
        len: usize,
    },
    /// The tag did not verify: the data was altered, or the associated data or key differ.
    #[error(
        "authentication failed for data sealed with key `{key_id}`: the data was altered, or the associated data or the key material differ from when it was sealed"
    )]
    AuthenticationFailed {
        /// The key that was tried.
        key_id: String,
    },
    /// The text form (`v1:<key id>:<base64>`) or an `EncryptedField` is not well formed.
    #[error("malformed sealed value: {reason}")]
    Malformed {
        /// What is wrong, in fixed words that repeat nothing of the value.
        reason: &'static str,
    },
    /// Encryption refused the input (only a plaintext or associated data of 64 GiB or more).
    #[error("encryption failed: plaintext or associated data too long")]
    EncryptionFailed,
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// The plaintext opened fine but is not the protobuf message expected.
    #[error("decrypted data is not a valid `{message}`")]
    Decode {
        /// The expected message type.
        message: &'static str,
    },
    /// A development key file could not be read.
    #[error("cannot read the development data keys {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error: said in the message, so not also a `source()` (a report would say
        /// it twice).
        error: std::io::Error,
    },
    /// A development key file could not be written.
    #[error("cannot write the development data keys {}: {error}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error: said in the message, so not also a `source()`.
        error: std::io::Error,
    },
    /// A development key file that is not what this crate writes.
    #[error("development data keys {} are not usable: {reason}", path.display())]
    InvalidKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (never the file's contents).
        reason: String,
    },
}
