//! A school's calendar: which weekdays are its weekend, and its holidays. Leave is
//! counted in school days (a Saudi school's weekend is Friday–Saturday, a Pakistani
//! school's Sunday or Saturday–Sunday).

use super::school::Timezone;
use chrono::{Datelike, NaiveDate, Weekday};

/// A weekend that could not be read (setting or form).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("unknown weekday {0:?} (use mon, tue, wed, thu, fri, sat, sun)")]
    Weekday(String),
    #[error("a weekend has one to three days")]
    Size,
    #[error("a holiday needs a date (YYYY-MM-DD) and a name of at most 100 characters")]
    Holiday,
}

/// The weekend a school has until it says otherwise: Friday–Saturday in the Gulf,
/// Saturday–Sunday elsewhere.
pub fn default_weekend(tz: &Timezone) -> Vec<Weekday> {
    match tz.phone_region() {
        Some("SA" | "AE" | "QA" | "KW" | "BH" | "OM") => vec![Weekday::Fri, Weekday::Sat],
        _ => vec![Weekday::Sat, Weekday::Sun],
    }
}

/// The school's weekend: its setting when it reads, else the country's default.
pub fn weekend_of(setting: Option<&str>, tz: &Timezone) -> Vec<Weekday> {
    setting
        .and_then(|w| parse_weekend(w).ok())
        .unwrap_or_else(|| default_weekend(tz))
}

/// "fri,sat" / "Sun" → the weekdays (one to three, in week order, no repeats).
pub fn parse_weekend(text: &str) -> Result<Vec<Weekday>, CalendarError> {
    let mut days = Vec::new();
    for part in text.split([',', ' ', ';']).filter(|p| !p.trim().is_empty()) {
        let d: Weekday = part
            .trim()
            .parse()
            .map_err(|_| CalendarError::Weekday(part.trim().chars().take(20).collect()))?;
        if !days.contains(&d) {
            days.push(d);
        }
    }
    if days.is_empty() || days.len() > 3 {
        return Err(CalendarError::Size);
    }
    days.sort_by_key(|d| d.num_days_from_monday());
    Ok(days)
}

/// The setting's text for a weekend ("fri,sat").
pub fn weekend_setting(days: &[Weekday]) -> String {
    days.iter()
        .map(|d| d.to_string().to_lowercase())
        .collect::<Vec<_>>()
        .join(",")
}

/// A holiday as the school enters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub day: NaiveDate,
    pub name: String,
}

impl Holiday {
    pub fn new(day: &str, name: &str) -> Result<Self, CalendarError> {
        let day = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
            .map_err(|_| CalendarError::Holiday)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(CalendarError::Holiday);
        }
        Ok(Holiday {
            day,
            name: crate::domain::bidi::neutralise(name).into_owned(),
        })
    }
}

/// The calendar over a span: weekend and the holidays in it.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    pub weekend: Vec<Weekday>,
    pub holidays: Vec<Holiday>,
}

impl Calendar {
    pub fn is_school_day(&self, d: NaiveDate) -> bool {
        !self.weekend.contains(&d.weekday()) && !self.holidays.iter().any(|h| h.day == d)
    }

    /// School days from `from` to `to`, both included.
    pub fn school_days(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        from.iter_days()
            .take_while(|d| *d <= to)
            .filter(|d| self.is_school_day(*d))
            .count() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn weekends_and_school_days() {
        assert_eq!(
            parse_weekend("Fri, sat").unwrap(),
            [Weekday::Fri, Weekday::Sat]
        );
        assert_eq!(parse_weekend("sun").unwrap(), [Weekday::Sun]);
        assert!(parse_weekend("").is_err());
        assert!(parse_weekend("funday").is_err());
        assert_eq!(weekend_setting(&[Weekday::Fri, Weekday::Sat]), "fri,sat");
        assert_eq!(
            default_weekend(&Timezone::parse("Asia/Riyadh").unwrap()),
            [Weekday::Fri, Weekday::Sat]
        );
        let pk = Calendar {
            weekend: vec![Weekday::Sat, Weekday::Sun],
            holidays: vec![Holiday::new("2026-12-25", "Quaid Day").unwrap()],
        };
        // Thu 24 Dec to Mon 28 Dec: Thu, (Fri holiday), Mon.
        assert_eq!(pk.school_days(day(2026, 12, 24), day(2026, 12, 28)), 2);
        let sa = Calendar {
            weekend: vec![Weekday::Fri, Weekday::Sat],
            holidays: vec![],
        };
        assert_eq!(sa.school_days(day(2026, 12, 24), day(2026, 12, 28)), 3);
        assert!(Holiday::new("25/12", "x").is_err());
        assert!(Holiday::new("2026-12-25", " ").is_err());
    }
}
