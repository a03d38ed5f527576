//! Students, guardians and staff, with the validation rules for each field.

use super::phone::{normalise_digits, Phone};
use super::school::Locale;
use super::{ClassId, GuardianId, Pii, StaffId, StudentId};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RosterError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("unknown gender {0:?}: use male, female, other or unspecified")]
    BadGender(String),
    #[error("unknown relation {0:?}: use father, mother, guardian or other")]
    BadRelation(String),
    #[error("unknown role {0:?}: use admin, branch_manager or teacher")]
    BadRole(String),
    #[error(
        "national id must be a 13-digit CNIC/B-Form (12345-1234567-1) or a 10-digit Saudi ID/Iqama"
    )]
    BadNationalId,
    #[error("{field} is not a date (use YYYY-MM-DD)")]
    BadDate { field: &'static str },
    #[error("{0} is too long (at most {1} characters)")]
    TooLong(&'static str, usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Male,
    Female,
    Other,
    Unspecified,
}

str_enum!(Gender {
    Male => "male" | "m" | "boy",
    Female => "female" | "f" | "girl",
    Other => "other",
    Unspecified => "unspecified",
} from_str(trim_lower) -> Result<Self, RosterError> else RosterError::BadGender);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    Father,
    Mother,
    Guardian,
    Other,
}

str_enum!(Relation {
    Father => "father",
    Mother => "mother",
    Guardian => "guardian",
    Other => "other",
} from_str(trim_lower) -> Result<Self, RosterError> else RosterError::BadRelation);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Admin,
    BranchManager,
    Teacher,
}

str_enum!(StaffRole {
    Admin => "admin",
    BranchManager => "branch_manager" | "branch-manager",
    Teacher => "teacher",
} from_str(trim_lower) -> Result<Self, RosterError> else RosterError::BadRole);

/// A CNIC/B-Form (Pakistan, 13 digits) or Saudi national ID / Iqama (10 digits).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NationalId(Pii<String>);

impl NationalId {
    pub fn parse(s: &str) -> Result<Self, RosterError> {
        let digits: String = normalise_digits(s)
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(RosterError::BadNationalId);
        }
        match digits.len() {
            13 => Ok(Self(Pii::new(format!(
                "{}-{}-{}",
                &digits[..5],
                &digits[5..12],
                &digits[12..]
            )))),
            10 if digits.starts_with('1') || digits.starts_with('2') => Ok(Self(Pii::new(digits))),
            _ => Err(RosterError::BadNationalId),
        }
    }
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

pub fn parse_date(field: &'static str, s: &str) -> Result<Option<NaiveDate>, RosterError> {
    let s = normalise_digits(s.trim());
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| RosterError::BadDate { field })
}

pub fn required(field: &'static str, s: &str, max: usize) -> Result<String, RosterError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(RosterError::Missing(field));
    }
    bounded(field, t, max)
}

pub fn bounded(field: &'static str, s: &str, max: usize) -> Result<String, RosterError> {
    let t = s.trim();
    if t.chars().count() > max {
        return Err(RosterError::TooLong(field, max));
    }
    Ok(t.to_string())
}

#[derive(Clone)]
pub struct Student {
    pub id: StudentId,
    pub admission_no: String,
    pub full_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Gender,
    pub class_id: ClassId,
    pub bform: Option<NationalId>,
    pub health_notes: Option<Pii<String>>,
}

#[derive(Clone)]
pub struct Guardian {
    pub id: GuardianId,
    pub full_name: String,
    pub phone: Option<Phone>,
    pub cnic: Option<NationalId>,
    pub address: Option<Pii<String>>,
    pub preferred_language: Locale,
}

#[derive(Clone)]
pub struct StaffUser {
    pub id: StaffId,
    pub full_name: String,
    pub email: String,
    pub phone: Option<Phone>,
    pub role: StaffRole,
    pub branch: Option<String>,
    pub password_hash: Option<String>,
}

/// Who a channel identity or an access code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactRef {
    Guardian(GuardianId),
    Staff(StaffId),
}

impl ContactRef {
    pub fn kind(&self) -> &'static str {
        match self {
            ContactRef::Guardian(_) => "guardian",
            ContactRef::Staff(_) => "staff",
        }
    }
    pub fn uuid(&self) -> uuid::Uuid {
        match self {
            ContactRef::Guardian(g) => g.0,
            ContactRef::Staff(s) => s.0,
        }
    }
    pub fn from_parts(kind: &str, id: uuid::Uuid) -> Option<Self> {
        match kind {
            "guardian" => Some(ContactRef::Guardian(GuardianId(id))),
            "staff" => Some(ContactRef::Staff(StaffId(id))),
            _ => None,
        }
    }
}

crate::debug_only!(Student, "Student", id, class_id);
crate::debug_only!(Guardian, "Guardian", id, preferred_language);
crate::debug_only!(RosterRecord, "RosterRecord", line);
crate::debug_only!(GuardianRecord, "GuardianRecord");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_ids() {
        assert_eq!(
            NationalId::parse("3520212345671").unwrap().expose(),
            "35202-1234567-1"
        );
        assert_eq!(
            NationalId::parse("35202-1234567-1").unwrap().expose(),
            "35202-1234567-1"
        );
        assert_eq!(
            NationalId::parse("1012345678").unwrap().expose(),
            "1012345678"
        );
        assert!(NationalId::parse("5012345678").is_err());
        assert!(NationalId::parse("12345").is_err());
        assert!(NationalId::parse("35202-12345x7-1").is_err());
    }

    #[test]
    fn enums_parse_leniently() {
        assert_eq!("F".parse::<Gender>().unwrap(), Gender::Female);
        assert!("".parse::<Relation>().is_err());
        assert!("uncle".parse::<Relation>().is_err());
        assert_eq!(
            "branch-manager".parse::<StaffRole>().unwrap(),
            StaffRole::BranchManager
        );
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("dob", "").unwrap(), None);
        assert!(parse_date("dob", "2015-02-30").is_err());
        assert_eq!(
            parse_date("dob", "٢٠١٥-٠٢-١٠").unwrap(),
            NaiveDate::from_ymd_opt(2015, 2, 10)
        );
    }
}

/// One validated roster line: a student, where they sit, and (optionally) one guardian.
#[derive(Clone)]
pub struct RosterRecord {
    pub line: u64,
    pub branch: String,
    pub class_name: String,
    pub section: String,
    pub admission_no: String,
    pub student_name: String,
    pub date_of_birth: Option<NaiveDate>,
    /// `None` when the column was blank: a new student is `unspecified`, an existing
    /// one keeps what is stored (likewise for the other optional fields).
    pub gender: Option<Gender>,
    pub bform: Option<NationalId>,
    pub health_notes: Option<Pii<String>>,
    pub guardian: Option<GuardianRecord>,
    /// An existing student keeps their active flag (a form edit); false: the record
    /// makes them active again (a roster file lists the school's current students).
    pub keep_active: bool,
}

#[derive(Clone)]
pub struct GuardianRecord {
    pub full_name: String,
    pub phone: Phone,
    pub relation: Option<Relation>,
    pub language: Option<Locale>,
    pub cnic: Option<NationalId>,
    pub address: Option<Pii<String>>,
}

impl std::fmt::Debug for StaffUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffUser")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("branch", &self.branch)
            .finish_non_exhaustive()
    }
}
