//! Phone numbers, normalised to E.164 before they are stored, indexed or compared.

use super::Pii;
use std::str::FromStr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhoneError {
    #[error("not a phone number")]
    Unparseable,
    #[error("not a valid phone number for its country")]
    Invalid,
    #[error("a local number needs a country: write it with a leading + and country code")]
    NeedsCountry,
}

/// A valid phone number in E.164 form (`+923001234567`). Its Debug output is redacted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(Pii<String>);

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Phone(<redacted>)")
    }
}

impl Phone {
    /// Parses what a person typed. Local numbers (`0300 1234567`) are read in
    /// `default_region` (ISO 3166 code such as `PK` or `SA`) when one is given.
    /// Urdu and Arabic-Indic digits are accepted.
    pub fn parse(input: &str, default_region: Option<&str>) -> Result<Self, PhoneError> {
        let ascii = normalise_digits(input);
        let trimmed = ascii.trim();
        let trimmed = trimmed.strip_prefix("whatsapp:").unwrap_or(trimmed);
        let region = match default_region {
            Some(r) => {
                Some(phonenumber::country::Id::from_str(r).map_err(|_| PhoneError::NeedsCountry)?)
            }
            None => None,
        };
        if region.is_none() && !trimmed.starts_with('+') && !trimmed.starts_with("00") {
            return Err(PhoneError::NeedsCountry);
        }
        let trimmed = match trimmed.strip_prefix("00") {
            Some(rest) if region.is_none() => format!("+{rest}"),
            _ => trimmed.to_string(),
        };
        let number = phonenumber::parse(region, &trimmed).map_err(|_| PhoneError::Unparseable)?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid);
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Phone(Pii::new(e164)))
    }

    /// The E.164 string. Only for encryption, blind indexing and sending.
    pub fn e164(&self) -> &str {
        self.0.expose()
    }

    /// Digits only, as wa.me links want them.
    pub fn digits(&self) -> String {
        self.e164().trim_start_matches('+').to_string()
    }
}

/// Maps Urdu/Persian (۰-۹) and Arabic-Indic (٠-٩) digits to ASCII.
pub fn normalise_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pakistani_local_and_international_forms_agree() {
        let a = Phone::parse("0300 1234567", Some("PK")).unwrap();
        let b = Phone::parse("+92 300 1234567", None).unwrap();
        let c = Phone::parse("whatsapp:+923001234567", Some("SA")).unwrap();
        let d = Phone::parse("00923001234567", None).unwrap();
        assert_eq!(a.e164(), "+923001234567");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert_eq!(a.digits(), "923001234567");
    }

    #[test]
    fn saudi_and_eastern_digits() {
        let p = Phone::parse("٠٥٠١٢٣٤٥٦٧", Some("SA")).unwrap();
        assert_eq!(p.e164(), "+966501234567");
        let u = Phone::parse("۰۳۰۰۱۲۳۴۵۶۷", Some("PK")).unwrap();
        assert_eq!(u.e164(), "+923001234567");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(
            Phone::parse("hello", Some("PK")),
            Err(PhoneError::Unparseable)
        );
        assert_eq!(Phone::parse("0300", Some("PK")), Err(PhoneError::Invalid));
        assert_eq!(
            Phone::parse("03001234567", None),
            Err(PhoneError::NeedsCountry)
        );
        assert!(!format!("{:?}", Phone::parse("+923001234567", None).unwrap()).contains("300"));
    }
}
