//! Why a call was refused, and how that maps to a gRPC status (once, here, not in handlers).

use std::path::PathBuf;

use hearth_domain::MunicipalityCode;
use tonic::{Code, Status};

use crate::role::{Role, describe_roles};

/// Why a caller was refused.
///
/// Variants before [`WrongCounty`](AuthError::WrongCounty) mean "we do not know who you are"
/// (`Unauthenticated`); the rest mean "we know, and you may not" (`PermissionDenied`).
/// Messages are sent to the caller, so they never contain the token or any claim value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `authorization` header.
    #[error("missing bearer token: send the header `authorization: Bearer <token>`")]
    MissingToken,
    /// The header or token is not what it should be; `reason` is fixed text.
    #[error("malformed credentials: {reason}")]
    Malformed {
        /// What is wrong, in words that contain nothing of the token.
        reason: &'static str,
    },
    /// The token is signed with another algorithm than ES256 (including `none` and HS256).
    #[error("token algorithm not accepted: only ES256 is")]
    WrongAlgorithm,
    /// The token's `kid` names no configured key.
    #[error("token signed with an unknown key")]
    UnknownKey,
    /// The signature does not verify with the key it names.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` has passed (beyond the clock-skew leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iss` is not the county's identity provider.
    #[error("token issuer is not accepted")]
    WrongIssuer,
    /// `aud` does not name Hearth.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// A claim Hearth needs is absent or unusable.
    #[error("token claim `{claim}` is missing or invalid")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A valid token, issued for another county's instance.
    #[error("token was issued for another county")]
    WrongCounty,
    /// The caller has none of the roles the call needs.
    #[error("permission denied: requires the role {}", describe_roles(needed))]
    MissingRole {
        /// Any one of these would do.
        needed: Vec<Role>,
    },
    /// Municipality staff asking about another municipality.
    #[error("permission denied: not allowed to act for municipality {municipality}")]
    OutsideMunicipality {
        /// The municipality asked about (not the caller's own).
        municipality: MunicipalityCode,
    },
}

impl AuthError {
    /// The gRPC code: `Unauthenticated` or `PermissionDenied`.
    pub fn code(&self) -> Code {
        match self {
            AuthError::WrongCounty
            | AuthError::MissingRole { .. }
            | AuthError::OutsideMunicipality { .. } => Code::PermissionDenied,
            _ => Code::Unauthenticated,
        }
    }
}

impl From<AuthError> for Status {
    fn from(error: AuthError) -> Self {
        Status::new(error.code(), error.to_string())
    }
}

/// A problem with key material or verifier settings: raised at start-up, or when minting a
/// development token, never for a caller's request.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// `VerifierOptions::keys` is empty.
    #[error("no token verification keys configured")]
    NoKeys,
    /// `VerifierOptions::issuer` or `audience` is empty.
    #[error("token verification needs a non-empty {field}")]
    MissingSetting {
        /// `issuer` or `audience`.
        field: &'static str,
    },
    /// A configured public key does not parse.
    #[error("verification key number {position} is not a P-256 public key in PEM (SPKI) form")]
    InvalidPublicKey {
        /// 1-based position in `VerifierOptions::keys`.
        position: usize,
    },
    /// Two configured keys share a key id, or a key id is empty.
    #[error("verification key id {kid:?} is empty or configured twice")]
    BadKeyId {
        /// The key id.
        kid: String,
    },
    /// A key file cannot be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why: said in the message, so not also a `source()` (a report would say it twice).
        error: std::io::Error,
    },
    /// A key file or its directory cannot be written.
    #[error("cannot write {path}: {error}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why: said in the message, so not also a `source()`.
        error: std::io::Error,
    },
    /// The private key file holds no P-256 PKCS#8 key.
    #[error("{path} is not a P-256 private key in PKCS#8 PEM form")]
    InvalidPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// The public key file does not belong to the private key beside it.
    #[error(
        "{public} does not belong to the private key in {private}; delete both files to generate a new pair"
    )]
    Mismatch {
        /// The private key file.
        private: PathBuf,
        /// The public key file.
        public: PathBuf,
    },
    /// PEM encoding, thumbprint or signing failed inside the crypto libraries.
    #[error("key operation failed: {0}")]
    Crypto(String),
    /// The requested lifetime does not fit a JWT timestamp.
    #[error("token lifetime is out of range")]
    InvalidTtl,
    /// The token asked for would be refused by the verifier anyway.
    /// (The reason is said in the message, so it is not also a `source()`.)
    #[error("refusing to mint a token that would be refused: {0}")]
    Refused(AuthError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(AuthError::MissingToken.code(), Code::Unauthenticated);
        assert_eq!(AuthError::Expired.code(), Code::Unauthenticated);
        assert_eq!(AuthError::WrongCounty.code(), Code::PermissionDenied);
        let status = Status::from(AuthError::MissingRole {
            needed: vec![Role::Finance, Role::Admin],
        });
        assert_eq!(status.code(), Code::PermissionDenied);
        assert_eq!(
            status.message(),
            "permission denied: requires the role finance or admin"
        );
    }
}
