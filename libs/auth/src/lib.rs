//! Bearer-token (JWT) verification, claims, roles and scope helpers shared by every Hearth
//! service.
//!
//! One instance serves one county, and the token decides who may do what there:
//!
//! - [`TokenVerifier`] checks a token (ES256 only, `iss`, `aud`, `exp`, the county) and turns it
//!   into a [`Principal`].
//! - [`AuthLayer`] runs it for every gRPC call except health and reflection, so handlers never
//!   see an unverified call; a handler gets the caller with [`principal`] and checks
//!   [`Principal::require_any_role`] / [`Principal::require_municipality_scope`].
//! - [`DevelopmentKey`] mints tokens for `hearth serve`/`hearth token` without an identity
//!   provider, verified by the same code as production tokens.

mod claims;
mod dev_key;
mod error;
mod layer;
mod principal;
mod role;
#[cfg(test)]
mod test_support;
mod verifier;

pub use claims::Claims;
pub use dev_key::{
    DevelopmentKey, MintRequest, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, development_key_id,
};
pub use error::{AuthError, KeyError};
pub use layer::{AuthFuture, AuthLayer, AuthService, is_public_path, principal};
pub use principal::{MunicipalityScope, Principal};
pub use role::{ParseRoleError, Role};
pub use verifier::{CLOCK_SKEW_LEEWAY, TokenVerifier, VerifierOptions};
