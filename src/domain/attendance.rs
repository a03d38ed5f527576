//! Attendance records: one status per student per day, from a teacher or the face matcher.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttendanceStatus {
    Present,
    Absent,
    Late,
    Excused,
}

str_enum!(AttendanceStatus {
    Present => "present",
    Absent => "absent",
    Late => "late",
    Excused => "excused",
} from_str(exact) -> Result<Self, String> else |other: String| format!("unknown attendance status {other:?}"));

/// Whether a new mark replaces the day's existing one. Every later mark does, except
/// that an approved absence (excused, from a leave request) is never turned into a plain
/// absence: a register marked "absent" on a day of approved leave keeps "excused".
pub fn replaces(existing: AttendanceStatus, new: AttendanceStatus) -> bool {
    !(existing == AttendanceStatus::Excused && new == AttendanceStatus::Absent)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttendanceSource {
    Manual,
    Face,
}

str_enum!(AttendanceSource {
    Manual => "manual",
    Face => "face",
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendanceRecord {
    pub day: chrono::NaiveDate,
    pub student: super::StudentId,
    pub status: AttendanceStatus,
    pub source: AttendanceSource,
    pub recorded_by: Option<super::StaffId>,
}

#[cfg(test)]
mod tests {
    use super::AttendanceStatus::*;
    use super::*;

    #[test]
    fn an_approved_absence_is_kept_against_a_plain_absence_only() {
        assert!(!replaces(Excused, Absent));
        for new in [Present, Late, Excused] {
            assert!(replaces(Excused, new), "{new:?}");
        }
        for existing in [Present, Absent, Late] {
            for new in [Present, Absent, Late, Excused] {
                assert!(replaces(existing, new), "{existing:?} -> {new:?}");
            }
        }
    }
}
