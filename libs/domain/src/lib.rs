//! Hearth's shared domain value types: county and municipality codes, money in öre, age bands,
//! commission kinds, children's needs and kinds of support, personal identity numbers, the clock, ids, and the violations a check
//! collects.
//!
//! Pure values, no I/O. Each type's constructor validates ("parse, don't validate"): code that
//! holds a `MunicipalityCode` never checks it again, and the edge (a gRPC request, a config
//! file) converts with `TryFrom`/`parse` and reports the typed error as a field violation.

mod age_band;
mod clock;
mod commission_kind;
mod county_code;
mod county_slug;
mod id;
mod money;
mod municipality_code;
mod needs;
mod personal_identity_number;
pub mod stockholm;
mod violations;

pub use age_band::{AgeBand, AgeBandError};
pub use clock::{Clock, FixedClock, SystemClock};
pub use commission_kind::CommissionKind;
pub use county_code::{CountyCode, CountyCodeError};
pub use county_slug::{CountySlug, CountySlugError};
pub use id::new_id;
pub use money::{Money, MoneyError};
pub use municipality_code::{MunicipalityCode, MunicipalityCodeError};
pub use needs::{Need, SupportKind};
pub use personal_identity_number::{PersonalIdentityNumber, PersonalIdentityNumberError};
pub use violations::{FieldViolation, Invalid, Violations};
