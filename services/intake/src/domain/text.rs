//! Free text, names and contact details: what the web form and case systems send, checked
//! before anything is stored. Each check returns the cleaned value or why it was refused.

/// A person's given or family name: 1–100 characters of letters (any script: Å, Ä, Ö, é, ł …),
/// combining marks, spaces, hyphens, apostrophes and periods; no digits, no control characters.
/// Surrounding whitespace is removed and inner runs of spaces become one.
pub fn person_name(value: &str) -> Result<String, String> {
    let cleaned = collapse_spaces(value);
    if cleaned.is_empty() {
        return Err("is required".to_owned());
    }
    let length = cleaned.chars().count();
    if length > 100 {
        return Err(format!("must be at most 100 characters (got {length})"));
    }
    if let Some(bad) = cleaned.chars().find(|c| !is_name_char(*c)) {
        return Err(format!(
            "may hold only letters, spaces, hyphens, apostrophes and periods (found {})",
            describe_char(bad)
        ));
    }
    if !cleaned.chars().any(char::is_alphabetic) {
        return Err("must hold at least one letter".to_owned());
    }
    Ok(cleaned)
}

fn is_name_char(c: char) -> bool {
    c.is_alphabetic()
        || c == ' '
        || c == '-'
        || c == '\u{2010}' // hyphen
        || c == '\''
        || c == '\u{2019}' // right single quotation mark, the typographic apostrophe
        || c == '.'
        || is_combining_mark(c)
}

/// Combining diacritical marks (a name typed as "a" + U+030A is still "å").
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Free text of at most `max` characters. Newlines and tabs are allowed where `multiline`;
/// other control characters never. Surrounding whitespace is removed; empty is `None`.
pub fn free_text(value: &str, max: usize, multiline: bool) -> Result<Option<String>, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let length = trimmed.chars().count();
    if length > max {
        return Err(format!("must be at most {max} characters (got {length})"));
    }
    if let Some(bad) = trimmed
        .chars()
        .find(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(format!("must not hold {}", describe_char(bad)));
    }
    Ok(Some(trimmed.to_owned()))
}

/// Required free text: as [`free_text`], but empty is refused.
pub fn required_text(value: &str, max: usize) -> Result<String, String> {
    free_text(value, max, false)?.ok_or_else(|| "is required".to_owned())
}

/// An e-mail address: at most 254 characters, one `@`, a local part and a domain with a dot,
/// no spaces. Lower-cased domain. Not a full RFC 5322 parser: the unit writes to it, and a
/// typo is caught by the family not answering, not by a regex.
pub fn email(value: &str) -> Result<Option<String>, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let length = trimmed.chars().count();
    if length > 254 {
        return Err(format!("must be at most 254 characters (got {length})"));
    }
    let malformed = || "must be an e-mail address such as anna@example.se".to_owned();
    let (local, domain) = trimmed.split_once('@').ok_or_else(malformed)?;
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(malformed());
    }
    Ok(Some(format!("{local}@{}", domain.to_lowercase())))
}

/// A phone number, normalised to `+` and digits: `070-123 45 67` becomes `+46701234567`.
/// Spaces, hyphens and brackets are allowed in the input; 8 to 15 digits in all (E.164).
pub fn phone(value: &str) -> Result<Option<String>, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let malformed = || "must be a phone number such as +46701234567 or 070-123 45 67".to_owned();
    if trimmed.chars().count() > 32 {
        return Err(malformed());
    }
    let (international, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' => {}
            _ => return Err(malformed()),
        }
    }
    let e164 = if international {
        digits
    } else if let Some(national) = digits.strip_prefix("00") {
        national.to_owned()
    } else if let Some(national) = digits.strip_prefix('0') {
        format!("46{national}")
    } else {
        return Err(malformed());
    };
    if !(8..=15).contains(&e164.len()) || e164.starts_with('0') {
        return Err(malformed());
    }
    Ok(Some(format!("+{e164}")))
}

/// A Swedish postal code: five digits, written `79131` or `791 31`; stored as five digits.
pub fn postal_code(value: &str) -> Result<String, String> {
    let digits: String = value.trim().chars().filter(|c| *c != ' ').collect();
    if digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0') {
        Ok(digits)
    } else if value.trim().is_empty() {
        Err("is required".to_owned())
    } else {
        Err("must be a Swedish postal code of five digits, such as 791 31".to_owned())
    }
}

/// Whether `text` holds something that looks like a personal identity number (10 or 12 digits,
/// with or without a dash or plus before the last four): case references and descriptions must
/// never carry the child's identity.
pub fn looks_like_personal_identity_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if !bytes[index].is_ascii_digit() {
            index += 1;
            continue;
        }
        // A run of digits, possibly with one separator before its last four.
        let start = index;
        let mut digits = 0;
        let mut separator_at = None;
        while index < bytes.len() {
            let byte = bytes[index];
            if byte.is_ascii_digit() {
                digits += 1;
            } else if (byte == b'-' || byte == b'+') && separator_at.is_none() && digits > 0 {
                separator_at = Some(digits);
            } else {
                break;
            }
            index += 1;
        }
        let run_ok = match separator_at {
            None => digits == 10 || digits == 12,
            Some(at) => (at == 6 || at == 8) && digits == at + 4,
        };
        if run_ok && (start == 0 || !bytes[start - 1].is_ascii_digit()) {
            return true;
        }
    }
    false
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn describe_char(c: char) -> String {
    if c.is_control() {
        format!("the control character U+{:04X}", u32::from(c))
    } else {
        format!("`{c}`")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_take_swedish_and_other_letters() {
        for good in [
            "Åsa",
            "Östen",
            "Märta-Lisa",
            "O'Brien",
            "D\u{2019}Angelo",
            "Jean-Luc",
            "Łukasz",
            "Nguyễn",
            "Å\u{030A}sa",
            "St. John",
        ] {
            assert!(person_name(good).is_ok(), "{good}");
        }
        assert_eq!(person_name("  Anna   Maria ").unwrap(), "Anna Maria");
        for bad in [
            "",
            "   ",
            "R2D2",
            "Anna\u{0000}",
            "<script>",
            "--",
            "a".repeat(101).as_str(),
        ] {
            assert!(person_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn phone_numbers_are_normalised() {
        assert_eq!(phone("070-123 45 67").unwrap().unwrap(), "+46701234567");
        assert_eq!(phone("+46 70 123 45 67").unwrap().unwrap(), "+46701234567");
        assert_eq!(phone("0046701234567").unwrap().unwrap(), "+46701234567");
        assert_eq!(phone("").unwrap(), None);
        for bad in ["12345", "070-ABC", "+0701234567", "0", "+4670123456789012"] {
            assert!(phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_addresses() {
        assert_eq!(
            email("Anna@Example.SE").unwrap().unwrap(),
            "Anna@example.se"
        );
        for bad in [
            "anna",
            "anna@",
            "@example.se",
            "anna@example",
            "an na@example.se",
            "a@b@c.se",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn postal_codes() {
        assert_eq!(postal_code("791 31").unwrap(), "79131");
        for bad in ["", "7913", "ABCDE", "01234", "791311"] {
            assert!(postal_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_numbers_are_spotted_in_text() {
        for text in [
            "19121212-1212",
            "121212-1212",
            "191212121212",
            "1212121212",
            "case 121212+1212 x",
        ] {
            assert!(looks_like_personal_identity_number(text), "{text}");
        }
        for text in [
            "2024-123",
            "Dnr 2026-000123",
            "12345",
            "1234567890123",
            "IFO-2026-0042",
        ] {
            assert!(!looks_like_personal_identity_number(text), "{text}");
        }
    }
}
