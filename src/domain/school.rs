//! Schools (tenants): the slug people type, and the settings a school is created with.

use super::TenantId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The school setting that lets a roster phone number on WhatsApp be recognised without
/// an access code (off unless the school turns it on).
pub const SETTING_RECOGNISE_PHONES: &str = "recognise_roster_phones";
/// The school's office hours as it writes them ("Mon–Fri 8:00–14:00"), told to people
/// who ask for the office.
pub const SETTING_OFFICE_HOURS: &str = "office_hours";
/// Hours after which a conversation the office has not released returns to the bot.
pub const SETTING_HANDOFF_RELEASE_HOURS: &str = "handoff_release_hours";
/// The school's weekend days ("fri,sat"; default by country, see `calendar`).
pub const SETTING_WEEKEND: &str = "weekend_days";
/// How and where to pay fees, as the school writes it (bank, IBAN, 1Link, JazzCash,
/// SADAD references), shown under a fee balance.
pub const SETTING_PAYMENT_DETAILS: &str = "payment_details";
/// "off": guardians are not told when their child is marked absent without leave
/// (on by default).
pub const SETTING_ABSENCE_NOTICE: &str = "absence_notice";
/// "on": this school is the vendor's own (its enquiry bot takes schools asking about
/// the service: name, school and city, instead of a child's class).
pub const SETTING_VENDOR: &str = "vendor";
/// "on": teachers may approve or reject leave for their classes from the chat.
pub const SETTING_TEACHERS_DECIDE_LEAVE: &str = "teachers_decide_leave";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SchoolError {
    #[error("school slug must be 3-40 characters of a-z, 0-9 and '-', starting with a letter (got {0:?})")]
    BadSlug(String),
    #[error("unknown locale {0:?}: use en, ur or ar")]
    BadLocale(String),
    #[error("unsupported timezone {0:?}: use an IANA name such as Asia/Karachi or Asia/Riyadh")]
    BadTimezone(String),
    #[error("school name must not be empty")]
    EmptyName,
}

/// A school's short name, used on the command line and in URLs.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Self, SchoolError> {
        let ok = (3..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && !s.ends_with('-')
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(SchoolError::BadSlug(s.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Serde's `try_from = "String", into = "String"` for a checked string: through `parse`,
/// back to the inner string.
macro_rules! string_conversions {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = SchoolError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $name::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(s: $name) -> String {
                s.0
            }
        }
    };
}

string_conversions!(Slug);
impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Slug({})", self.0)
    }
}

/// The languages Raabta speaks: English, Urdu, Arabic, and Urdu in Latin letters
/// (Roman Urdu, `ur-Latn`: a chat language; schools, the roster and the admin use the
/// first three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    Ur,
    Ar,
    #[serde(rename = "ur-Latn")]
    UrLatn,
}

str_enum!(Locale {
    En => "en" | "english",
    Ur => "ur" | "urdu",
    Ar => "ar" | "arabic",
    UrLatn => "ur-Latn" | "ur-latn" | "roman urdu" | "roman-urdu",
} from_str(trim_lower) -> Result<Self, SchoolError> else SchoolError::BadLocale);

impl Locale {
    /// Urdu and Arabic are written right to left (Roman Urdu is not).
    pub fn is_rtl(self) -> bool {
        matches!(self, Locale::Ur | Locale::Ar)
    }

    /// A language a school, a roster row or the admin may have (Roman Urdu is chosen
    /// in the chat).
    pub fn is_school_language(self) -> bool {
        !matches!(self, Locale::UrLatn)
    }
}

/// Timezones we know how to serve, with the country that phone numbers without a
/// `+` prefix are read in.
const TIMEZONES: &[(&str, &str)] = &[
    ("Asia/Karachi", "PK"),
    ("Asia/Riyadh", "SA"),
    ("Asia/Dubai", "AE"),
    ("Asia/Qatar", "QA"),
    ("Asia/Kuwait", "KW"),
    ("Asia/Bahrain", "BH"),
    ("Asia/Muscat", "OM"),
    ("UTC", ""),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timezone(String);

impl Timezone {
    pub fn parse(s: &str) -> Result<Self, SchoolError> {
        TIMEZONES
            .iter()
            .find(|(tz, _)| tz.eq_ignore_ascii_case(s.trim()))
            .map(|(tz, _)| Timezone(tz.to_string()))
            .ok_or_else(|| SchoolError::BadTimezone(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The zone's offset from UTC. All the zones we serve keep one offset all year
    /// (none observes daylight saving time).
    pub fn utc_offset(&self) -> chrono::FixedOffset {
        let hours = match self.0.as_str() {
            "Asia/Karachi" => 5,
            "Asia/Dubai" | "Asia/Muscat" => 4,
            "Asia/Riyadh" | "Asia/Qatar" | "Asia/Kuwait" | "Asia/Bahrain" => 3,
            _ => 0,
        };
        chrono::FixedOffset::east_opt(hours * 3600)
            .unwrap_or(chrono::FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()))
    }
    /// The end of a calendar day in the school's zone (the next local midnight), as
    /// deadlines given as "last day" are stored. None if out of range.
    pub fn end_of_day(&self, day: chrono::NaiveDate) -> Option<chrono::DateTime<chrono::Utc>> {
        day.succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| t.and_local_timezone(self.utc_offset()).single())
            .map(|t| t.with_timezone(&chrono::Utc))
    }
    /// The last day a deadline stored by [`Self::end_of_day`] still accepts answers.
    pub fn last_day(&self, deadline: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
        self.today(deadline - chrono::Duration::seconds(1))
    }
    /// The school's calendar day at an instant.
    pub fn today(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
        now.with_timezone(&self.utc_offset()).date_naive()
    }
    /// ISO 3166 region used to read local phone numbers, if any.
    pub fn phone_region(&self) -> Option<&'static str> {
        TIMEZONES
            .iter()
            .find(|(tz, _)| *tz == self.0)
            .and_then(|(_, r)| (!r.is_empty()).then_some(*r))
    }
}
string_conversions!(Timezone);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    /// Registered; partition being created. Never served.
    Provisioning,
    Active,
}

str_enum!(TenantStatus {
    Provisioning => "provisioning",
    Active => "active",
});

/// A school as the control database knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: Slug,
    pub name: String,
    pub timezone: Timezone,
    pub locale: Locale,
    pub status: TenantStatus,
    pub created_at: DateTime<Utc>,
}

/// What `tenant create` asks for.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: Slug,
    pub name: String,
    pub timezone: Timezone,
    pub locale: Locale,
}

impl NewTenant {
    pub fn new(slug: &str, name: &str, timezone: &str, locale: &str) -> Result<Self, SchoolError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(SchoolError::EmptyName);
        }
        Ok(Self {
            slug: Slug::parse(slug)?,
            name: name.to_string(),
            timezone: Timezone::parse(timezone)?,
            locale: Some(locale.parse::<Locale>()?)
                .filter(|l| l.is_school_language())
                .ok_or_else(|| SchoolError::BadLocale(locale.to_string()))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(Slug::parse("beaconhouse-g9").is_ok());
        for bad in ["", "ab", "9lives", "Caps", "with space", "trailing-", "a_b"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timezone_gives_phone_region() {
        assert_eq!(
            Timezone::parse("asia/karachi").unwrap().phone_region(),
            Some("PK")
        );
        assert_eq!(
            Timezone::parse("Asia/Riyadh").unwrap().phone_region(),
            Some("SA")
        );
        assert_eq!(Timezone::parse("UTC").unwrap().phone_region(), None);
        assert!(Timezone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn new_tenant_validates() {
        assert!(NewTenant::new("demo", "Demo", "Asia/Karachi", "ur").is_ok());
        assert_eq!(
            NewTenant::new("demo", "  ", "Asia/Karachi", "en").unwrap_err(),
            SchoolError::EmptyName
        );
        assert!(matches!(
            NewTenant::new("demo", "Demo", "Asia/Karachi", "fr"),
            Err(SchoolError::BadLocale(_))
        ));
    }
}
