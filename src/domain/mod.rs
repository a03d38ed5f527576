//! Pure domain types and rules. No IO, no SQL, no HTTP: everything here can be
//! unit-tested without a runtime, and every other layer depends on it.

/// The names of a fieldless enum, from one list: `as_str` (the first name of each
/// variant), `parse` (the exact name or one of its aliases, else `None`) and `Display`
/// (the name). With a trailing `from_str`, also `FromStr`: the input is first normalised
/// (`exact`, `trim_lower` or `trim_upper`), then looked up with `parse`; an unknown name
/// becomes the error the last expression makes from the normalised input (a `String`).
///
/// ```ignore
/// str_enum!(Relation {
///     Father => "father",
///     Other => "other" | "relative",
/// } from_str(trim_lower) -> Result<Self, RosterError> else RosterError::BadRelation);
/// ```
macro_rules! str_enum {
    ($name:ident { $($variant:ident => $s:literal $(| $alias:literal)*),+ $(,)? }) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $s,)+
                }
            }
            /// The variant named exactly `s` (its name or an alias).
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($s $(| $alias)* => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    (
        $name:ident { $($body:tt)+ }
        from_str($case:ident) -> Result<Self, $err_ty:ty> else $err:expr
    ) => {
        str_enum!($name { $($body)+ });

        impl std::str::FromStr for $name {
            type Err = $err_ty;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let s = str_enum!(@$case s);
                Self::parse(&s).ok_or_else(|| ($err)(s))
            }
        }
    };
    (@exact $s:ident) => {
        $s.to_string()
    };
    (@trim_lower $s:ident) => {
        $s.trim().to_ascii_lowercase()
    };
    (@trim_upper $s:ident) => {
        $s.trim().to_ascii_uppercase()
    };
}

pub mod access_code;
pub mod activity;
pub mod attendance;
pub mod bidi;
pub mod calendar;
pub mod fees;
pub mod ids;
pub mod job;
pub mod media;
pub mod message;
pub mod phone;
pub mod pii;
pub mod roster;
pub mod school;

pub use ids::*;
pub use pii::{Pii, Secret};

#[cfg(test)]
mod tests {
    use super::fees::{Currency, MoneyError};
    use super::message::{DeliveryStatus, Provider};
    use super::roster::{Gender, RosterError, StaffRole};

    #[test]
    fn str_enums_read_their_names_and_aliases() {
        assert_eq!(Gender::Male.as_str(), "male");
        assert_eq!(Gender::parse("m"), Some(Gender::Male));
        assert_eq!(Gender::parse(" M"), None);
        assert_eq!(" M ".parse::<Gender>(), Ok(Gender::Male));
        assert_eq!(
            "x".parse::<Gender>(),
            Err(RosterError::BadGender("x".into()))
        );
        assert_eq!(
            "Branch-Manager".parse::<StaffRole>(),
            Ok(StaffRole::BranchManager)
        );
        assert_eq!(StaffRole::BranchManager.to_string(), "branch_manager");
        assert_eq!(" rs".parse::<Currency>(), Ok(Currency::Pkr));
        assert_eq!(
            "eur".parse::<Currency>(),
            Err(MoneyError::BadCurrency("EUR".into()))
        );
        assert_eq!(
            DeliveryStatus::parse("undelivered"),
            Some(DeliveryStatus::Failed)
        );
        assert!("Twilio".parse::<Provider>().is_err());
        assert_eq!("meta".parse::<Provider>(), Ok(Provider::Meta));
    }
}
