//! Attendance records: one status per student per day, from a teacher or the face matcher.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttendanceStatus {
    Present,
    Absent,
    Late,
    Excused,
}

impl AttendanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Absent => "absent",
            Self::Late => "late",
            Self::Excused => "excused",
        }
    }
}

impl FromStr for AttendanceStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "present" => Ok(Self::Present),
            "absent" => Ok(Self::Absent),
            "late" => Ok(Self::Late),
            "excused" => Ok(Self::Excused),
            other => Err(format!("unknown attendance status {other:?}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttendanceSource {
    Manual,
    Face,
}

impl AttendanceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Face => "face",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendanceRecord {
    pub day: chrono::NaiveDate,
    pub student: super::StudentId,
    pub status: AttendanceStatus,
    pub source: AttendanceSource,
    pub recorded_by: Option<super::StaffId>,
}
