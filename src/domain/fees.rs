//! Fees: amounts are integers in minor units (paisa, halala), never floats.

use super::phone::normalise_digits;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("unknown currency {0:?}: use PKR or SAR")]
    BadCurrency(String),
    #[error("{0:?} is not an amount (use digits with at most two decimals, e.g. 4500 or 4500.50)")]
    BadAmount(String),
    #[error("amount must be greater than zero")]
    NotPositive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    #[serde(rename = "PKR")]
    Pkr,
    #[serde(rename = "SAR")]
    Sar,
}

str_enum!(Currency {
    Pkr => "PKR" | "RS",
    Sar => "SAR" | "SR",
} from_str(trim_upper) -> Result<Self, MoneyError> else MoneyError::BadCurrency);

/// An amount in minor units (1/100 of a rupee or riyal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    /// Parses "4500", "4,500.5", "٤٥٠٠٫٥٠" into minor units. Rejects zero and negatives.
    pub fn parse_positive(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        let cleaned: String = normalise_digits(amount.trim())
            .chars()
            .filter(|c| *c != ',' && *c != '\u{066C}')
            .map(|c| if c == '\u{066B}' { '.' } else { c })
            .collect();
        let bad = || MoneyError::BadAmount(amount.to_string());
        let (whole, frac) = match cleaned.split_once('.') {
            Some((w, f)) => (w, f),
            None => (cleaned.as_str(), ""),
        };
        if whole.is_empty()
            || whole.len() > 13
            || frac.len() > 2
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
            _ => frac.parse().map_err(|_| bad())?,
        };
        let minor = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(bad)?;
        if minor <= 0 {
            return Err(MoneyError::NotPositive);
        }
        Ok(Money { minor, currency })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        write!(
            f,
            "{} {sign}{}.{:02}",
            self.currency.as_str(),
            abs / 100,
            abs % 100
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amounts_exactly() {
        let m = |s| Money::parse_positive(s, Currency::Pkr).map(|m| m.minor);
        assert_eq!(m("4500"), Ok(450_000));
        assert_eq!(m("4,500.5"), Ok(450_050));
        assert_eq!(m("0.01"), Ok(1));
        assert_eq!(m("٤٥٠٠٫٧٥"), Ok(450_075));
        assert_eq!(m("0"), Err(MoneyError::NotPositive));
        assert!(m("-5").is_err());
        assert!(m("1.234").is_err());
        assert!(m("12e3").is_err());
        assert!(m("").is_err());
        assert!(m("99999999999999").is_err());
    }

    #[test]
    fn displays() {
        let m = Money {
            minor: 450_050,
            currency: Currency::Sar,
        };
        assert_eq!(m.to_string(), "SAR 4500.50");
    }
}

/// One validated fee line (with an optional payment against it) from an import.
#[derive(Debug, Clone)]
pub struct FeeRecord {
    pub line: u64,
    pub admission_no: String,
    pub period: String,
    pub description: String,
    /// The line's name in Urdu and Arabic, where the school gives them (empty: none).
    pub description_ur: String,
    pub description_ar: String,
    pub amount: Money,
    pub due_date: chrono::NaiveDate,
    pub payment: Option<PaymentRecord>,
}

#[derive(Debug, Clone)]
pub struct PaymentRecord {
    pub amount_minor: i64,
    pub paid_on: chrono::NaiveDate,
    pub reference: String,
}

/// A fee line as a parent would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeLineView {
    pub period: String,
    pub description: String,
    /// The school's Urdu and Arabic names of the line, when it gave them.
    pub description_ur: Option<String>,
    pub description_ar: Option<String>,
    pub amount: Money,
    pub paid_minor: i64,
    pub due_date: chrono::NaiveDate,
}

impl FeeLineView {
    pub fn outstanding_minor(&self) -> i64 {
        (self.amount.minor - self.paid_minor).max(0)
    }
}
