//! Verifying bearer tokens: ES256 only, issuer, audience, expiry and county checked.
//!
//! Keys are given up front, several at once so that the identity provider can rotate them by
//! `kid`. Fetching them from the provider's JWKS endpoint is not built yet: it plugs in as a
//! task that reads the JWKS (`jsonwebtoken::jwk::JwkSet`, `DecodingKey::from_jwk`) and swaps
//! `Inner::keys` behind a lock, refetching when a token names an unknown `kid`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_domain::{Clock, CountySlug, MunicipalityCode, SystemClock};
use http::HeaderMap;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};

use crate::claims::Claims;
use crate::error::{AuthError, KeyError};
use crate::principal::Principal;

/// How far a token's `exp` and `nbf` may be off from our clock before it is refused: clocks on
/// the provider and on our pods drift, but a token must not live noticeably past its expiry.
pub const CLOCK_SKEW_LEEWAY: Duration = Duration::from_secs(30);

/// The one signing algorithm accepted. Pinning it (rather than trusting the token's `alg`)
/// shuts out `none` and the HS256-with-the-public-key trick.
const ALGORITHM: Algorithm = Algorithm::ES256;

/// What a verifier needs to know, from configuration.
#[derive(Debug, Clone)]
pub struct VerifierOptions {
    /// This instance's county; tokens for any other county are refused.
    pub county: CountySlug,
    /// The expected `iss`: the county's identity provider.
    pub issuer: String,
    /// The expected `aud`: the name the provider gives Hearth.
    pub audience: String,
    /// `(kid, public key PEM)` pairs: P-256 public keys in SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    /// A key without a kid is tried for every token, whatever kid the token names.
    pub keys: Vec<(Option<String>, String)>,
}

/// Checks bearer tokens and turns them into [`Principal`]s. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    county: CountySlug,
    keys: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
    clock: Arc<dyn Clock>,
    /// Tokens verified before, by the SHA-256 of the token: a client sends the same token with
    /// every call, and an ES256 signature check costs more than the rest of a small call. The
    /// keys never change in a running verifier, so only the time is checked again on a hit.
    verified: Mutex<HashMap<[u8; 32], Verified>>,
}

/// A verified token's principal and validity period.
#[derive(Clone)]
struct Verified {
    principal: Principal,
    exp: u64,
    nbf: Option<u64>,
}

/// How many verified tokens are remembered; when full, the memory starts afresh.
const VERIFIED_CACHE_ENTRIES: usize = 10_000;

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<Option<&str>> = self
            .inner
            .keys
            .iter()
            .map(|(kid, _)| kid.as_deref())
            .collect();
        f.debug_struct("TokenVerifier")
            .field("county", &self.inner.county)
            .field("issuer", &self.inner.validation.iss)
            .field("audience", &self.inner.validation.aud)
            .field("kids", &kids)
            .finish()
    }
}

/// For callers that keep the verifier in an `Arc`: a clone shares the same keys.
impl From<Arc<TokenVerifier>> for TokenVerifier {
    fn from(shared: Arc<TokenVerifier>) -> Self {
        (*shared).clone()
    }
}

impl TokenVerifier {
    /// A verifier on the system clock. Fails on empty settings or keys that do not parse,
    /// so a misconfigured instance stops at start-up instead of refusing every call.
    pub fn new(options: VerifierOptions) -> Result<Self, KeyError> {
        Self::with_clock(options, Arc::new(SystemClock))
    }

    /// A verifier that reads "now" from `clock` (tests of expiry).
    pub fn with_clock(options: VerifierOptions, clock: Arc<dyn Clock>) -> Result<Self, KeyError> {
        let VerifierOptions {
            county,
            issuer,
            audience,
            keys,
        } = options;
        if issuer.trim().is_empty() {
            return Err(KeyError::MissingSetting { field: "issuer" });
        }
        if audience.trim().is_empty() {
            return Err(KeyError::MissingSetting { field: "audience" });
        }
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        let mut decoding_keys: Vec<(Option<String>, DecodingKey)> = Vec::with_capacity(keys.len());
        for (index, (kid, pem)) in keys.into_iter().enumerate() {
            if let Some(kid) = &kid
                && (kid.is_empty()
                    || decoding_keys
                        .iter()
                        .any(|(other, _)| other.as_ref() == Some(kid)))
            {
                return Err(KeyError::BadKeyId { kid: kid.clone() });
            }
            // Parse with p256 first: it insists on a P-256 curve, where jsonwebtoken would
            // accept a P-384 key here and fail on every token later.
            let invalid = || KeyError::InvalidPublicKey {
                position: index + 1,
            };
            p256::PublicKey::from_public_key_pem(pem.trim()).map_err(|_| invalid())?;
            let key = DecodingKey::from_ec_pem(pem.trim().as_bytes()).map_err(|_| invalid())?;
            decoding_keys.push((kid, key));
        }

        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Time is checked below against the injected clock, not jsonwebtoken's system time.
        validation.validate_exp = false;
        validation.validate_nbf = false;

        Ok(Self {
            inner: Arc::new(Inner {
                county,
                keys: decoding_keys,
                validation,
                clock,
                verified: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The county this verifier accepts tokens for.
    pub fn county(&self) -> &CountySlug {
        &self.inner.county
    }

    /// Verifies the `authorization: Bearer <token>` header of a request.
    pub fn verify_headers(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
        let value = values.next().ok_or(AuthError::MissingToken)?;
        if values.next().is_some() {
            return Err(AuthError::Malformed {
                reason: "more than one authorization header",
            });
        }
        let not_bearer = AuthError::Malformed {
            reason: "authorization header is not `Bearer <token>`",
        };
        let value = value.to_str().map_err(|_| not_bearer.clone())?;
        let (scheme, token) = value.split_once(' ').ok_or_else(|| not_bearer.clone())?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(not_bearer);
        }
        self.verify(token)
    }

    /// Verifies a token: ES256 signature by a configured key, `iss`, `aud`, `exp` (and `nbf`)
    /// within [`CLOCK_SKEW_LEEWAY`], then the county, then the claim rules of [`Principal`].
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let remembered = self
            .inner
            .verified
            .lock()
            .ok()
            .and_then(|verified| verified.get(&digest).cloned());
        if let Some(known) = remembered {
            self.check_time(known.exp, known.nbf)?;
            return Ok(known.principal);
        }
        let known = self.verify_signed(token)?;
        if let Ok(mut verified) = self.inner.verified.lock() {
            if verified.len() >= VERIFIED_CACHE_ENTRIES {
                verified.clear();
            }
            verified.insert(digest, known.clone());
        }
        Ok(known.principal)
    }

    /// The full check of [`verify`](Self::verify), without the memory of verified tokens.
    fn verify_signed(&self, token: &str) -> Result<Verified, AuthError> {
        let inner = &*self.inner;
        // An `alg` jsonwebtoken does not know at all, such as `none`, fails here already.
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed {
            reason: "not a JSON Web Token, or its header names an unsupported algorithm",
        })?;
        if header.alg != ALGORITHM {
            return Err(AuthError::WrongAlgorithm);
        }

        let candidates = inner
            .keys
            .iter()
            .filter(|(kid, _)| match (kid, &header.kid) {
                (None, _) => true,
                (Some(kid), Some(wanted)) => kid == wanted,
                (Some(_), None) => true,
            });
        let mut outcome = Err(AuthError::UnknownKey);
        for (_, key) in candidates {
            outcome = jsonwebtoken::decode::<serde_json::Value>(token, key, &inner.validation)
                .map_err(|error| map_jwt_error(error.kind()));
            // A key that does not verify the signature may not be the one; try the next.
            if !matches!(outcome, Err(AuthError::BadSignature)) {
                break;
            }
        }
        let payload = outcome?.claims;

        let claims: Claims = serde_json::from_value(payload).map_err(|_| AuthError::Malformed {
            reason: "token claims do not have the expected names and types",
        })?;
        self.check_time(claims.exp, claims.nbf)?;

        let county = CountySlug::parse(&claims.county)
            .map_err(|_| AuthError::InvalidClaim { claim: "county" })?;
        if county != inner.county {
            return Err(AuthError::WrongCounty);
        }
        let municipality = claims
            .municipality
            .as_deref()
            .map(MunicipalityCode::parse)
            .transpose()
            .map_err(|_| AuthError::InvalidClaim {
                claim: "municipality",
            })?;
        let principal = Principal::try_new(claims.sub, county, claims.roles, municipality)?;
        Ok(Verified {
            principal,
            exp: claims.exp,
            nbf: claims.nbf,
        })
    }

    fn check_time(&self, exp: u64, nbf: Option<u64>) -> Result<(), AuthError> {
        let now = u64::try_from(self.inner.clock.now_utc().timestamp()).unwrap_or(0);
        let leeway = CLOCK_SKEW_LEEWAY.as_secs();
        if now >= exp.saturating_add(leeway) {
            return Err(AuthError::Expired);
        }
        if let Some(not_before) = nbf
            && not_before > now.saturating_add(leeway)
        {
            return Err(AuthError::NotYetValid);
        }
        Ok(())
    }
}

fn map_jwt_error(kind: &ErrorKind) -> AuthError {
    match kind {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => AuthError::WrongAlgorithm,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => {
            AuthError::InvalidClaim {
                claim: static_claim_name(claim),
            }
        }
        _ => AuthError::Malformed {
            reason: "token cannot be decoded",
        },
    }
}

/// Claim names as `'static` text, so that errors carry no text taken from the token.
fn static_claim_name(claim: &str) -> &'static str {
    match claim {
        "exp" => "exp",
        "iss" => "iss",
        "aud" => "aud",
        "sub" => "sub",
        "nbf" => "nbf",
        _ => "unknown",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeDelta;
    use jsonwebtoken::{EncodingKey, Header};
    use tonic::{Code, Status};

    use super::*;
    use crate::test_support::{AUDIENCE, Fixture, ISSUER, code, dalarna};
    use crate::{DevelopmentKey, Role};

    /// Every refusal: the right code, and a message that does not contain the token.
    fn refused(fixture: &Fixture, token: &str, code: Code) -> AuthError {
        let error = fixture.verifier.verify(token).unwrap_err();
        assert_eq!(error.code(), code, "{error}");
        let status = Status::from(error.clone());
        if token.len() > 8 {
            assert!(!status.message().contains(token), "{}", status.message());
            for part in token.split('.').filter(|part| part.len() > 8) {
                assert!(!status.message().contains(part), "{}", status.message());
            }
        }
        error
    }

    #[test]
    fn valid_token_gives_the_principal() {
        let fixture = Fixture::new();
        let token = fixture.mint(fixture.request(&[Role::MunicipalityStaff], Some("2080")));
        let principal = fixture.verifier.verify(&token).unwrap();
        assert_eq!(principal.subject(), "user-42");
        assert_eq!(principal.county(), &dalarna());
        assert_eq!(principal.roles(), &[Role::MunicipalityStaff]);
        assert_eq!(principal.municipality(), Some(code("2080")));
    }

    #[test]
    fn garbage_is_unauthenticated() {
        let fixture = Fixture::new();
        for garbage in ["", "garbage", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"] {
            refused(&fixture, garbage, Code::Unauthenticated);
        }
    }

    #[test]
    fn expiry_is_enforced_with_a_small_leeway() {
        let fixture = Fixture::new();
        let mut request = fixture.request(&[Role::UnitStaff], None);
        request.ttl = Duration::from_secs(60);
        let token = fixture.mint(request);

        fixture.clock.advance(TimeDelta::seconds(60 + 29));
        assert!(fixture.verifier.verify(&token).is_ok(), "within leeway");

        fixture.clock.advance(TimeDelta::seconds(1));
        assert_eq!(
            refused(&fixture, &token, Code::Unauthenticated),
            AuthError::Expired
        );
    }

    #[test]
    fn not_before_in_the_future_is_refused() {
        let fixture = Fixture::new();
        let mut claims = fixture.good_claims();
        claims["nbf"] = (fixture.clock.now_utc().timestamp() + 600).into();
        let token = fixture.sign_raw(&claims);
        assert_eq!(
            refused(&fixture, &token, Code::Unauthenticated),
            AuthError::NotYetValid
        );
    }

    #[test]
    fn token_from_another_key_is_unauthenticated() {
        let fixture = Fixture::new();
        let stranger = DevelopmentKey::generate().unwrap();
        let token = stranger
            .mint_at(
                fixture.request(&[Role::Admin], None),
                fixture.clock.now_utc(),
            )
            .unwrap();
        assert_eq!(
            refused(&fixture, &token, Code::Unauthenticated),
            AuthError::UnknownKey
        );
    }

    #[test]
    fn forged_kid_is_a_bad_signature() {
        let fixture = Fixture::new();
        let dir = tempfile::tempdir().unwrap();
        DevelopmentKey::load_or_generate(dir.path()).unwrap();
        let stranger_pem =
            std::fs::read_to_string(dir.path().join(crate::PRIVATE_KEY_FILE)).unwrap();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(fixture.key.kid().to_owned());
        let token = jsonwebtoken::encode(
            &header,
            &fixture.good_claims(),
            &EncodingKey::from_ec_pem(stranger_pem.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            refused(&fixture, &token, Code::Unauthenticated),
            AuthError::BadSignature
        );
    }

    #[test]
    fn tampered_payload_is_a_bad_signature() {
        let fixture = Fixture::new();
        let token = fixture.unit_staff_token();
        let admin = fixture.mint(fixture.request(&[Role::Admin], None));
        // Header and signature of one token, payload of another.
        let parts: Vec<&str> = token.split('.').collect();
        let admin_payload = admin.split('.').nth(1).unwrap();
        let spliced = format!("{}.{}.{}", parts[0], admin_payload, parts[2]);
        assert_eq!(
            refused(&fixture, &spliced, Code::Unauthenticated),
            AuthError::BadSignature
        );
    }

    #[test]
    fn another_county_is_permission_denied() {
        let fixture = Fixture::new();
        let mut request = fixture.request(&[Role::UnitStaff], None);
        request.county = CountySlug::parse("jonkoping").unwrap();
        let token = fixture.mint(request);
        assert_eq!(
            refused(&fixture, &token, Code::PermissionDenied),
            AuthError::WrongCounty
        );
    }

    #[test]
    fn hs256_signed_with_the_public_key_is_refused() {
        // The classic confusion attack: use the public key as an HMAC secret.
        let fixture = Fixture::new();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(fixture.key.kid().to_owned());
        let token = jsonwebtoken::encode(
            &header,
            &fixture.good_claims(),
            &EncodingKey::from_secret(fixture.key.public_key_pem().as_bytes()),
        )
        .unwrap();
        assert_eq!(
            refused(&fixture, &token, Code::Unauthenticated),
            AuthError::WrongAlgorithm
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let fixture = Fixture::new();
        let payload = fixture
            .unit_staff_token()
            .split('.')
            .nth(1)
            .unwrap()
            .to_owned();
        // {"alg":"none","typ":"JWT"}
        let token = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        refused(&fixture, &token, Code::Unauthenticated);
    }

    #[test]
    fn wrong_issuer_or_audience_is_unauthenticated() {
        let fixture = Fixture::new();
        let mut request = fixture.request(&[Role::UnitStaff], None);
        request.issuer = "https://evil.example".into();
        assert_eq!(
            refused(&fixture, &fixture.mint(request), Code::Unauthenticated),
            AuthError::WrongIssuer
        );
        let mut request = fixture.request(&[Role::UnitStaff], None);
        request.audience = "someone-else".into();
        assert_eq!(
            refused(&fixture, &fixture.mint(request), Code::Unauthenticated),
            AuthError::WrongAudience
        );
    }

    #[test]
    fn missing_or_bad_claims_are_unauthenticated() {
        let fixture = Fixture::new();
        for claim in ["iss", "aud", "exp", "sub"] {
            let mut claims = fixture.good_claims();
            claims.as_object_mut().unwrap().remove(claim);
            let error = refused(&fixture, &fixture.sign_raw(&claims), Code::Unauthenticated);
            assert_eq!(
                error,
                AuthError::InvalidClaim {
                    claim: static_claim_name(claim)
                }
            );
        }

        let mut claims = fixture.good_claims();
        claims["roles"] = serde_json::json!(["superuser"]);
        refused(&fixture, &fixture.sign_raw(&claims), Code::Unauthenticated);

        let mut claims = fixture.good_claims();
        claims["roles"] = serde_json::json!(["municipality_staff"]);
        assert_eq!(
            refused(&fixture, &fixture.sign_raw(&claims), Code::Unauthenticated),
            AuthError::InvalidClaim {
                claim: "municipality"
            }
        );
        claims["municipality"] = "680".into();
        assert_eq!(
            refused(&fixture, &fixture.sign_raw(&claims), Code::Unauthenticated),
            AuthError::InvalidClaim {
                claim: "municipality"
            }
        );

        let mut claims = fixture.good_claims();
        claims["county"] = "Dalarna".into();
        assert_eq!(
            refused(&fixture, &fixture.sign_raw(&claims), Code::Unauthenticated),
            AuthError::InvalidClaim { claim: "county" }
        );
    }

    #[test]
    fn audience_array_is_accepted() {
        let fixture = Fixture::new();
        let mut claims = fixture.good_claims();
        claims["aud"] = serde_json::json!(["account", AUDIENCE]);
        assert!(fixture.verifier.verify(&fixture.sign_raw(&claims)).is_ok());
    }

    #[test]
    fn rotation_accepts_tokens_from_every_configured_key() {
        let old = DevelopmentKey::generate().unwrap();
        let new = DevelopmentKey::generate().unwrap();
        let (_, unnamed_pem) = new.verification_key();
        for keys in [
            vec![old.verification_key(), new.verification_key()],
            // A key without kid matches any token.
            vec![old.verification_key(), (None, unnamed_pem)],
        ] {
            let verifier = TokenVerifier::new(VerifierOptions {
                county: dalarna(),
                issuer: ISSUER.into(),
                audience: AUDIENCE.into(),
                keys,
            })
            .unwrap();
            let fixture = Fixture::new();
            for key in [&old, &new] {
                let token = key.mint(fixture.request(&[Role::Finance], None)).unwrap();
                assert_eq!(verifier.verify(&token).unwrap().roles(), &[Role::Finance]);
            }
        }
    }

    #[test]
    fn bad_options_fail_at_start_up() {
        let key = DevelopmentKey::generate().unwrap();
        let options = |keys: Vec<(Option<String>, String)>| VerifierOptions {
            county: dalarna(),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            keys,
        };
        assert!(matches!(
            TokenVerifier::new(options(vec![])),
            Err(KeyError::NoKeys)
        ));
        assert!(matches!(
            TokenVerifier::new(options(vec![(None, "not a pem".into())])),
            Err(KeyError::InvalidPublicKey { position: 1 })
        ));
        assert!(matches!(
            TokenVerifier::new(options(vec![
                key.verification_key(),
                key.verification_key()
            ])),
            Err(KeyError::BadKeyId { .. })
        ));
        let mut empty_issuer = options(vec![key.verification_key()]);
        empty_issuer.issuer = " ".into();
        assert!(matches!(
            TokenVerifier::new(empty_issuer),
            Err(KeyError::MissingSetting { field: "issuer" })
        ));
        // The private key is not a public key.
        let dir = tempfile::tempdir().unwrap();
        key.save(dir.path()).unwrap();
        let private = std::fs::read_to_string(dir.path().join(crate::PRIVATE_KEY_FILE)).unwrap();
        assert!(matches!(
            TokenVerifier::new(options(vec![(None, private)])),
            Err(KeyError::InvalidPublicKey { .. })
        ));
    }

    #[test]
    fn authorization_header_parsing() {
        let fixture = Fixture::new();
        let token = fixture.unit_staff_token();
        let headers = |values: &[&str]| {
            let mut map = HeaderMap::new();
            for value in values {
                map.append(http::header::AUTHORIZATION, value.parse().unwrap());
            }
            map
        };
        assert_eq!(
            fixture.verifier.verify_headers(&headers(&[])),
            Err(AuthError::MissingToken)
        );
        assert!(
            fixture
                .verifier
                .verify_headers(&headers(&[&format!("Bearer {token}")]))
                .is_ok()
        );
        assert!(
            fixture
                .verifier
                .verify_headers(&headers(&[&format!("bearer {token}")]))
                .is_ok()
        );
        for bad in [
            format!("Basic {token}"),
            token.clone(),
            "Bearer ".to_owned(),
        ] {
            assert!(matches!(
                fixture.verifier.verify_headers(&headers(&[&bad])),
                Err(AuthError::Malformed { .. })
            ));
        }
        let twice = format!("Bearer {token}");
        assert!(matches!(
            fixture.verifier.verify_headers(&headers(&[&twice, &twice])),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let fixture = Fixture::new();
        let debug = format!("{:?}", fixture.verifier);
        assert!(debug.contains("dalarna"));
        assert!(debug.contains(fixture.key.kid()));
        assert!(!debug.contains("BEGIN"));
    }
}
