//! The development signing key: lets `hearth serve` and `hearth token` work without an
//! identity provider, with exactly the verification path production uses.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hearth_domain::{Clock, CountySlug, MunicipalityCode, SystemClock};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use p256::SecretKey;
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};

use crate::claims::Claims;
use crate::error::KeyError;
use crate::principal::Principal;
use crate::role::Role;

/// File name of the private key (PKCS#8 PEM, mode 0600 on Unix).
pub const PRIVATE_KEY_FILE: &str = "dev-signing-key.pem";
/// File name of the public key (SPKI PEM), for verifiers in other processes.
pub const PUBLIC_KEY_FILE: &str = "dev-signing-key.pub.pem";

/// An ES256 key pair kept in a data directory, for minting development tokens.
///
/// Not for production: anyone who can read the directory can mint any role. The standalone
/// service binaries refuse it unless told otherwise (see docs/design.md#tokens).
pub struct DevelopmentKey {
    secret: SecretKey,
    encoding_key: EncodingKey,
    public_key_pem: String,
    kid: String,
}

impl fmt::Debug for DevelopmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevelopmentKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// What a development token should say.
#[derive(Debug, Clone)]
pub struct MintRequest {
    /// The county; must be the verifying instance's.
    pub county: CountySlug,
    /// Roles to grant.
    pub roles: Vec<Role>,
    /// Required with [`Role::MunicipalityStaff`].
    pub municipality: Option<MunicipalityCode>,
    /// The `sub` claim.
    pub subject: String,
    /// How long the token lives.
    pub ttl: Duration,
    /// The `iss` claim; must match the verifier's issuer.
    pub issuer: String,
    /// The `aud` claim; must match the verifier's audience.
    pub audience: String,
}

impl DevelopmentKey {
    /// A fresh random key pair (from the operating system's RNG). Not saved.
    pub fn generate() -> Result<Self, KeyError> {
        Self::from_secret(SecretKey::random(&mut rand::rngs::OsRng))
    }

    /// Loads the pair from `dir`, or generates and saves one if there is no private key yet.
    pub fn load_or_generate(dir: &Path) -> Result<Self, KeyError> {
        if dir.join(PRIVATE_KEY_FILE).exists() {
            return Self::load(dir);
        }
        let key = Self::generate()?;
        match key.save(dir) {
            Ok(()) => Ok(key),
            // Another process created it between our check and our write: use theirs.
            Err(KeyError::Write { error: source, .. })
                if source.kind() == io::ErrorKind::AlreadyExists =>
            {
                Self::load(dir)
            }
            Err(error) => Err(error),
        }
    }

    /// Loads the private key from `dir`. Writes the public key file if it is missing, and
    /// refuses a public key file that belongs to another key (verifiers would disagree).
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        let private_path = dir.join(PRIVATE_KEY_FILE);
        let pem = fs::read_to_string(&private_path).map_err(|source| KeyError::Read {
            path: private_path.clone(),
            error: source,
        })?;
        warn_if_readable_by_others(&private_path);
        let secret =
            SecretKey::from_pkcs8_pem(pem.trim()).map_err(|_| KeyError::InvalidPrivateKey {
                path: private_path.clone(),
            })?;
        let key = Self::from_secret(secret)?;

        let public_path = dir.join(PUBLIC_KEY_FILE);
        match fs::read_to_string(&public_path) {
            Ok(text) => {
                let on_disk = p256::PublicKey::from_public_key_pem(text.trim()).ok();
                if on_disk != Some(key.secret.public_key()) {
                    return Err(KeyError::Mismatch {
                        private: private_path,
                        public: public_path,
                    });
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                write_file(&public_path, key.public_key_pem.as_bytes(), false)?;
            }
            Err(source) => {
                return Err(KeyError::Read {
                    path: public_path,
                    error: source,
                });
            }
        }
        Ok(key)
    }

    /// Saves both files in `dir` (created if needed). Refuses to overwrite a private key.
    pub fn save(&self, dir: &Path) -> Result<(), KeyError> {
        fs::create_dir_all(dir).map_err(|source| KeyError::Write {
            path: dir.to_path_buf(),
            error: source,
        })?;
        let private_pem = self
            .secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|error| KeyError::Crypto(error.to_string()))?;
        write_file(&dir.join(PRIVATE_KEY_FILE), private_pem.as_bytes(), true)?;
        write_file(
            &dir.join(PUBLIC_KEY_FILE),
            self.public_key_pem.as_bytes(),
            false,
        )
    }

    /// The public key, SPKI PEM: what a verifier is configured with.
    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    /// The key id put in minted tokens' headers: `dev-` and the start of the key's RFC 7638
    /// thumbprint, so that a rotated development key is told apart from the old one.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `(kid, public key PEM)`, ready for [`VerifierOptions::keys`](crate::VerifierOptions).
    pub fn verification_key(&self) -> (Option<String>, String) {
        (Some(self.kid.clone()), self.public_key_pem.clone())
    }

    /// Mints a token valid from now (system clock) for `request.ttl`.
    pub fn mint(&self, request: MintRequest) -> Result<String, KeyError> {
        self.mint_at(request, SystemClock.now_utc())
    }

    /// Mints a token as if issued at `issued_at` (tests: expired tokens).
    ///
    /// Refuses requests the verifier would refuse anyway (municipality staff without a
    /// municipality, an empty subject), so the CLI fails early and says why.
    pub fn mint_at(
        &self,
        request: MintRequest,
        issued_at: DateTime<Utc>,
    ) -> Result<String, KeyError> {
        let MintRequest {
            county,
            roles,
            municipality,
            subject,
            ttl,
            issuer,
            audience,
        } = request;
        let principal =
            Principal::try_new(subject, county, roles, municipality).map_err(KeyError::Refused)?;

        let iat = u64::try_from(issued_at.timestamp()).map_err(|_| KeyError::InvalidTtl)?;
        let exp = iat.checked_add(ttl.as_secs()).ok_or(KeyError::InvalidTtl)?;
        let claims = Claims {
            sub: principal.subject().to_owned(),
            iss: issuer,
            aud: vec![audience],
            exp,
            iat,
            nbf: None,
            county: principal.county().to_string(),
            roles: principal.roles().to_vec(),
            municipality: principal.municipality().map(|code| code.to_string()),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding_key)
            .map_err(|error| KeyError::Crypto(error.to_string()))
    }

    fn from_secret(secret: SecretKey) -> Result<Self, KeyError> {
        let crypto = |error: &dyn fmt::Display| KeyError::Crypto(error.to_string());
        let private_pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|error| crypto(&error))?;
        let encoding_key =
            EncodingKey::from_ec_pem(private_pem.as_bytes()).map_err(|error| crypto(&error))?;
        let public_key_pem = secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|error| crypto(&error))?;
        let kid = development_key_id(&public_key_pem)?;
        Ok(Self {
            secret,
            encoding_key,
            public_key_pem,
            kid,
        })
    }
}

/// The `kid` that [`DevelopmentKey`] uses for a public key, for verifiers in other processes
/// that only have the public key file.
pub fn development_key_id(public_key_pem: &str) -> Result<String, KeyError> {
    let crypto = |error: jsonwebtoken::errors::Error| KeyError::Crypto(error.to_string());
    let decoding_key =
        DecodingKey::from_ec_pem(public_key_pem.trim().as_bytes()).map_err(crypto)?;
    let thumbprint = Jwk::from_decoding_key(&decoding_key, Some(Algorithm::ES256))
        .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256))
        .map_err(crypto)?;
    let short: String = thumbprint.chars().take(16).collect();
    Ok(format!("dev-{short}"))
}

/// Writes a new file; the private key gets mode 0600 from the start (no window where it is
/// readable by others) and is never overwritten.
fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), KeyError> {
    let write_error = |source| KeyError::Write {
        path: PathBuf::from(path),
        error: source,
    };
    if private {
        return hearth_keyfile::create_private(path, contents).map_err(write_error);
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(write_error)?;
    file.write_all(contents).map_err(write_error)?;
    file.sync_all().map_err(write_error)
}

fn warn_if_readable_by_others(path: &Path) {
    if hearth_keyfile::readable_by_others(path) {
        tracing::warn!(
            path = %path.display(),
            "development signing key is readable by other users; chmod 600 it"
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn load_or_generate_creates_then_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let first = DevelopmentKey::load_or_generate(&data_dir).unwrap();
        let second = DevelopmentKey::load_or_generate(&data_dir).unwrap();
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.public_key_pem(), second.public_key_pem());
        assert!(first.kid().starts_with("dev-"));
        assert_eq!(first.kid().len(), "dev-".len() + 16);
        assert_eq!(
            fs::read_to_string(data_dir.join(PUBLIC_KEY_FILE)).unwrap(),
            first.public_key_pem()
        );
        assert_eq!(
            development_key_id(first.public_key_pem()).unwrap(),
            first.kid()
        );
    }

    #[cfg(unix)]
    #[test]
    fn private_key_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        DevelopmentKey::load_or_generate(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(PRIVATE_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn missing_public_file_is_rewritten_and_a_foreign_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = DevelopmentKey::load_or_generate(dir.path()).unwrap();
        fs::remove_file(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
        let reloaded = DevelopmentKey::load(dir.path()).unwrap();
        assert_eq!(reloaded.kid(), key.kid());
        assert!(dir.path().join(PUBLIC_KEY_FILE).exists());

        let other = DevelopmentKey::generate().unwrap();
        fs::write(dir.path().join(PUBLIC_KEY_FILE), other.public_key_pem()).unwrap();
        assert!(matches!(
            DevelopmentKey::load(dir.path()),
            Err(KeyError::Mismatch { .. })
        ));
    }

    #[test]
    fn garbage_private_key_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(PRIVATE_KEY_FILE), "not a key").unwrap();
        let error = DevelopmentKey::load_or_generate(dir.path()).unwrap_err();
        assert!(matches!(error, KeyError::InvalidPrivateKey { .. }));
        assert!(error.to_string().contains(PRIVATE_KEY_FILE), "{error}");
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let key = DevelopmentKey::generate().unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.kid()));
        assert!(!debug.contains("PRIVATE"));
    }

    #[test]
    fn refuses_to_mint_municipality_staff_without_municipality() {
        let key = DevelopmentKey::generate().unwrap();
        let error = key
            .mint(MintRequest {
                county: CountySlug::parse("dalarna").unwrap(),
                roles: vec![Role::MunicipalityStaff],
                municipality: None,
                subject: "someone".into(),
                ttl: Duration::from_secs(60),
                issuer: "hearth-dev".into(),
                audience: "hearth".into(),
            })
            .unwrap_err();
        assert!(matches!(error, KeyError::Refused(_)));
    }
}
