//! Interest registrations from the wire: what the web form sends, checked field by field (by
//! the household rules of `domain::household` and the text rules of `domain::text`) into what
//! is stored.

use crate::domain::household::{
    MAX_ADULTS, MAX_CHANNEL_OTHER, MAX_HOUSEHOLD_CHILD_AGE, MAX_HOUSEHOLD_CHILDREN, MAX_LOCALITY,
    MAX_MESSAGE, MAX_STREET, MIN_ADULT_AGE, is_adult_on,
};
use crate::domain::text;
use chrono::NaiveDate;
use hearth_county::County;
use hearth_domain::{AgeBand, CommissionKind, MunicipalityCode, PersonalIdentityNumber};
use hearth_proto::common::v1 as common;
use hearth_proto::convert;
use hearth_proto::events::v1::{HouseholdAdult, HouseholdDetails};
use hearth_proto::intake::v1 as pb;
use hearth_rpc::Violations;

/// A registration that passed every check: the searchable facts in the clear, the household's
/// personal data as the message that is sealed at rest and in events.
#[derive(Clone, PartialEq)]
pub struct RegistrationDraft {
    pub home_municipality: MunicipalityCode,
    pub housing: common::Housing,
    pub has_earlier_experience: bool,
    pub commission_kinds: Vec<CommissionKind>,
    pub age_bands: Vec<AgeBand>,
    pub channel: common::InterestChannel,
    /// The adults' personal identity numbers, in the order given: the keys of duplicate checks.
    pub personal_identity_numbers: Vec<PersonalIdentityNumber>,
    /// Names, numbers, contact details, address, household and free text. Sensitive.
    pub household: HouseholdDetails,
}

impl std::fmt::Debug for RegistrationDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data never reaches a log line, even through `{:?}`.
        f.debug_struct("RegistrationDraft")
            .field("home_municipality", &self.home_municipality)
            .field("adults", &self.personal_identity_numbers.len())
            .finish_non_exhaustive()
    }
}

/// Checks a registration from the web form (`field` is its path in the request, e.g.
/// `interest_registration`) as of `today` in the county `county`. Every problem is collected.
pub fn check_registration(
    input: Option<&pb::InterestRegistration>,
    field: &str,
    county: &County,
    today: NaiveDate,
    violations: &mut Violations,
) -> Option<RegistrationDraft> {
    let Some(input) = input else {
        violations.add(field, "is required");
        return None;
    };
    let path = |name: &str| format!("{field}.{name}");

    let adults = check_adults(&input.adults, &path("adults"), today, violations);

    let home_municipality = match &input.home_municipality {
        None => {
            violations.add(path("home_municipality"), "is required");
            None
        }
        Some(code) => check_member(
            code,
            &path("home_municipality.value"),
            county,
            today,
            violations,
        ),
    };

    let address = check_address(input.address.as_ref(), &path("address"), violations);

    let housing = match common::Housing::try_from(input.housing) {
        Ok(common::Housing::Unspecified) => {
            violations.add(path("housing"), "is required");
            None
        }
        Ok(housing) => Some(housing),
        Err(_) => {
            violations.add(path("housing"), format!("unknown value {}", input.housing));
            None
        }
    };

    if input.household_children_ages.len() > MAX_HOUSEHOLD_CHILDREN {
        violations.add(
            path("household_children_ages"),
            format!("may list at most {MAX_HOUSEHOLD_CHILDREN} children"),
        );
    }
    for (index, age) in input.household_children_ages.iter().enumerate() {
        if *age > MAX_HOUSEHOLD_CHILD_AGE {
            violations.add(
                format!("{}[{index}]", path("household_children_ages")),
                format!("must be an age in whole years, 0 to {MAX_HOUSEHOLD_CHILD_AGE}"),
            );
        }
    }

    let commission_kinds = check_commission_kinds(
        &input.commission_kinds,
        &path("commission_kinds"),
        violations,
    );
    let age_bands = check_age_bands(&input.age_bands, &path("age_bands"), violations);

    let channel = match common::InterestChannel::try_from(input.channel) {
        Ok(common::InterestChannel::Unspecified) => {
            violations.add(path("channel"), "is required");
            None
        }
        Ok(channel) => Some(channel),
        Err(_) => {
            violations.add(path("channel"), format!("unknown value {}", input.channel));
            None
        }
    };
    let channel_other = match text::free_text(&input.channel_other, MAX_CHANNEL_OTHER, false) {
        Err(message) => {
            violations.add(path("channel_other"), message);
            None
        }
        Ok(value) => {
            match (channel, &value) {
                (Some(common::InterestChannel::Other), None) => violations.add(
                    path("channel_other"),
                    "is required when channel is INTEREST_CHANNEL_OTHER",
                ),
                (Some(channel), Some(_)) if channel != common::InterestChannel::Other => violations
                    .add(
                        path("channel_other"),
                        "must be empty unless channel is INTEREST_CHANNEL_OTHER",
                    ),
                _ => {}
            }
            value
        }
    };
    let message = violations
        .check(
            &path("message"),
            text::free_text(&input.message, MAX_MESSAGE, true),
        )
        .flatten();

    let (adults, numbers) = adults?;
    let household = HouseholdDetails {
        adults,
        address: Some(address?),
        housing: housing? as i32,
        own_bedroom_for_child: input.own_bedroom_for_child,
        household_children_ages: input.household_children_ages.clone(),
        channel_other: channel_other.unwrap_or_default(),
        message: message.unwrap_or_default(),
    };
    Some(RegistrationDraft {
        home_municipality: home_municipality?,
        housing: housing?,
        has_earlier_experience: input.has_earlier_experience,
        commission_kinds: commission_kinds?,
        age_bands: age_bands?,
        channel: channel?,
        personal_identity_numbers: numbers,
        household,
    })
}

/// Checks the adults; `None` if any is wrong.
fn check_adults(
    adults: &[pb::RegisteredAdult],
    field: &str,
    today: NaiveDate,
    violations: &mut Violations,
) -> Option<(Vec<HouseholdAdult>, Vec<PersonalIdentityNumber>)> {
    if adults.is_empty() {
        violations.add(field, "must list the one or two adults of the household");
        return None;
    }
    if adults.len() > MAX_ADULTS {
        violations.add(field, format!("may list at most {MAX_ADULTS} adults"));
        return None;
    }
    let before = violations.len();
    let mut checked = Vec::with_capacity(adults.len());
    let mut numbers: Vec<PersonalIdentityNumber> = Vec::with_capacity(adults.len());
    let mut has_contact = false;
    for (index, adult) in adults.iter().enumerate() {
        let path = |name: &str| format!("{field}[{index}].{name}");
        let (given_name, family_name, email, phone) = check_adult_contact(adult, &path, violations);
        has_contact |= matches!(&email, Some(Some(_))) || matches!(&phone, Some(Some(_)));
        let number = match PersonalIdentityNumber::parse_on(&adult.personal_identity_number, today)
        {
            Ok(number) => {
                if !is_adult_on(&number, today) {
                    violations.add(
                        path("personal_identity_number"),
                        format!(
                            "must be the number of an adult (at least {MIN_ADULT_AGE} years old)"
                        ),
                    );
                } else if numbers.contains(&number) {
                    violations.add(
                        path("personal_identity_number"),
                        "is the same as another adult's",
                    );
                }
                Some(number)
            }
            Err(_) if adult.personal_identity_number.trim().is_empty() => {
                violations.add(path("personal_identity_number"), "is required");
                None
            }
            // The error never echoes the number: it is personal data even when mistyped.
            Err(error) => {
                violations.add(path("personal_identity_number"), error.to_string());
                None
            }
        };
        if let (Some(given_name), Some(family_name), Some(email), Some(phone), Some(number)) =
            (given_name, family_name, email, phone, number)
        {
            checked.push(HouseholdAdult {
                given_name,
                family_name,
                personal_identity_number: number.expose().to_owned(),
                email: email.unwrap_or_default(),
                phone: phone.unwrap_or_default(),
            });
            numbers.push(number);
        }
    }
    if violations.len() == before && !has_contact {
        violations.add(
            format!("{field}[0].email"),
            "the household needs an e-mail address or a phone number for at least one adult",
        );
    }
    (violations.len() == before).then_some((checked, numbers))
}

/// The names and contact details of one adult; each `None` when refused.
#[allow(clippy::type_complexity)]
pub fn check_adult_contact(
    adult: &pb::RegisteredAdult,
    path: &dyn Fn(&str) -> String,
    violations: &mut Violations,
) -> (
    Option<String>,
    Option<String>,
    Option<Option<String>>,
    Option<Option<String>>,
) {
    let given_name = violations.check(&path("given_name"), text::person_name(&adult.given_name));
    let family_name = violations.check(&path("family_name"), text::person_name(&adult.family_name));
    let email = violations.check(&path("email"), text::email(&adult.email));
    let phone = violations.check(&path("phone"), text::phone(&adult.phone));
    (given_name, family_name, email, phone)
}

/// A postal address; `None` if any part is wrong.
pub fn check_address(
    address: Option<&common::PostalAddress>,
    field: &str,
    violations: &mut Violations,
) -> Option<common::PostalAddress> {
    let Some(address) = address else {
        violations.add(field, "is required");
        return None;
    };
    let street = match text::free_text(&address.street_address, MAX_STREET, true) {
        Ok(Some(street)) => Some(street),
        Ok(None) => {
            violations.add(format!("{field}.street_address"), "is required");
            None
        }
        Err(message) => {
            violations.add(format!("{field}.street_address"), message);
            None
        }
    };
    let postal_code = violations.check(
        &format!("{field}.postal_code"),
        text::postal_code(&address.postal_code),
    );
    let locality = violations.check(
        &format!("{field}.locality"),
        text::required_text(&address.locality, MAX_LOCALITY),
    );
    Some(common::PostalAddress {
        street_address: street?,
        postal_code: postal_code?,
        locality: locality?,
    })
}

/// A municipality code that must belong to a member of the county on `today`.
pub fn check_member(
    code: &common::MunicipalityCode,
    field: &str,
    county: &County,
    today: NaiveDate,
    violations: &mut Violations,
) -> Option<MunicipalityCode> {
    let code = violations.check(field, convert::municipality_code(code))?;
    violations.check(
        field,
        county.member_on(code, today).map(|member| member.code),
    )
}

fn check_commission_kinds(
    values: &[i32],
    field: &str,
    violations: &mut Violations,
) -> Option<Vec<CommissionKind>> {
    if values.is_empty() {
        violations.add(field, "must name at least one kind of commission");
        return None;
    }
    let before = violations.len();
    let mut kinds = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let path = format!("{field}[{index}]");
        match convert::commission_kind(*value) {
            None => violations.add(path, format!("unknown or unspecified value {value}")),
            Some(kind) if !kind.can_register_for() => violations.add(
                path,
                "a network home cannot be registered for: it comes from the child's own network",
            ),
            Some(kind) if kinds.contains(&kind) => violations.add(path, "is listed twice"),
            Some(kind) => kinds.push(kind),
        }
    }
    (violations.len() == before).then_some(kinds)
}

/// Age bands: at least one, each known, none twice.
pub fn check_age_bands(
    values: &[i32],
    field: &str,
    violations: &mut Violations,
) -> Option<Vec<AgeBand>> {
    if values.is_empty() {
        violations.add(field, "must name at least one age band");
        return None;
    }
    let before = violations.len();
    let mut bands = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let path = format!("{field}[{index}]");
        match convert::age_band(*value) {
            None => violations.add(path, format!("unknown or unspecified value {value}")),
            Some(band) if bands.contains(&band) => violations.add(path, "is listed twice"),
            Some(band) => bands.push(band),
        }
    }
    bands.sort();
    (violations.len() == before).then_some(bands)
}

/// Checks the contact details of an update: the adults in the stored order, each with an empty
/// personal identity number or the stored one (in any form, read as of `today`).
pub fn check_contact_update(
    adults: &[pb::RegisteredAdult],
    field: &str,
    stored: &[HouseholdAdult],
    today: NaiveDate,
    violations: &mut Violations,
) -> Option<Vec<HouseholdAdult>> {
    if adults.len() != stored.len() {
        violations.add(
            field,
            format!(
                "must list the registration's {} adult(s), in the stored order",
                stored.len()
            ),
        );
        return None;
    }
    let before = violations.len();
    let mut updated = Vec::with_capacity(adults.len());
    let mut has_contact = false;
    for (index, (adult, current)) in adults.iter().zip(stored).enumerate() {
        let path = |name: &str| format!("{field}[{index}].{name}");
        let given = adult.personal_identity_number.trim();
        if !given.is_empty()
            && PersonalIdentityNumber::parse_on(given, today)
                .ok()
                .map(|n| n.expose().to_owned())
                != Some(current.personal_identity_number.clone())
        {
            violations.add(
                path("personal_identity_number"),
                "cannot be changed: leave it empty or send the stored number",
            );
        }
        let (given_name, family_name, email, phone) = check_adult_contact(adult, &path, violations);
        has_contact |= matches!(&email, Some(Some(_))) || matches!(&phone, Some(Some(_)));
        if let (Some(given_name), Some(family_name), Some(email), Some(phone)) =
            (given_name, family_name, email, phone)
        {
            updated.push(HouseholdAdult {
                given_name,
                family_name,
                personal_identity_number: current.personal_identity_number.clone(),
                email: email.unwrap_or_default(),
                phone: phone.unwrap_or_default(),
            });
        }
    }
    if violations.len() == before && !has_contact {
        violations.add(
            format!("{field}[0].email"),
            "the household needs an e-mail address or a phone number for at least one adult",
        );
    }
    (violations.len() == before).then_some(updated)
}
