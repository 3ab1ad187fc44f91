//! A consultant written to the wire straight from the domain value: the same bytes as
//! [`ConsultantResponse`], without first copying every string into an owned DTO (a listing of
//! 10,000 consultants built ~20 allocations per consultant that way).

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use consultores_domain::routing::{Availability, MinuteOfDay};
use consultores_domain::{availability, Consultant, Limit, PipedriveUserId};
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

#[cfg(doc)]
use super::consultant::ConsultantResponse;

/// A consultant as every endpoint answers it at an instant, borrowed for serialisation.
#[derive(Debug)]
pub struct ConsultantJson<'a> {
    consultant: &'a Consultant,
    status: Availability,
}

impl<'a> ConsultantJson<'a> {
    /// The consultant as answered at `now` (the read-only status depends on the time).
    pub fn new(consultant: &'a Consultant, now: DateTime<Utc>) -> Self {
        Self {
            consultant,
            status: availability(consultant, now),
        }
    }
}

impl Serialize for ConsultantJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.consultant;
        let rules = &c.routing;
        // Field names and order are those of `ConsultantResponse` (a test compares the bytes).
        let mut out = serializer.serialize_struct("ConsultantResponse", 20)?;
        out.serialize_field("id", &c.id.0)?;
        out.serialize_field("nome", c.name.as_str())?;
        out.serialize_field("email", &c.email.as_ref().map(|email| email.as_str()))?;
        out.serialize_field("telefone", &c.phone.as_ref().map(|phone| phone.as_str()))?;
        out.serialize_field("idiomas", &Languages(c))?;
        out.serialize_field("status_ativo", &c.active)?;
        out.serialize_field("status_ativo_sequencial", &c.in_rotation)?;
        out.serialize_field("status_online", &c.online)?;
        out.serialize_field(
            "ultimo_atendimento",
            &c.last_served_at.as_ref().map(Timestamp),
        )?;
        out.serialize_field(
            "id_pipedrive",
            &c.pipedrive_user_id.map(PipedriveUserId::get),
        )?;
        out.serialize_field("peso", &rules.weight.get())?;
        out.serialize_field("limite_diario", &rules.daily_limit.map(Limit::get))?;
        out.serialize_field("limite_abertos", &rules.open_limit.map(Limit::get))?;
        out.serialize_field("fuso_horario", rules.time_zone.name())?;
        out.serialize_field("horarios", &rules.schedule.as_ref().map(Schedule))?;
        out.serialize_field("ausencias", &rules.leave.as_deref().map(LeaveList))?;
        out.serialize_field("disponivel", &self.status.available())?;
        out.serialize_field(
            "motivo_indisponivel",
            &self.status.reason.map(|reason| reason.as_str()),
        )?;
        out.serialize_field("atendimentos_hoje", &self.status.assignments_today)?;
        out.serialize_field("protocolos_abertos", &self.status.open_protocols)?;
        out.end()
    }
}

struct Languages<'a>(&'a Consultant);

impl Serialize for Languages<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.languages.iter().map(|language| language.as_str()))
    }
}

struct Schedule<'a>(&'a consultores_domain::WeeklySchedule);

impl Serialize for Schedule<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let periods = self.0.periods();
        let mut seq = serializer.serialize_seq(Some(periods.len()))?;
        for period in periods {
            seq.serialize_element(&Period {
                day: period.day,
                start: period.start,
                end: period.end,
            })?;
        }
        seq.end()
    }
}

/// One working period as `WorkingHoursWire` writes it.
struct Period {
    day: u8,
    start: MinuteOfDay,
    end: MinuteOfDay,
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("dia", &self.day)?;
        map.serialize_entry("inicio", ascii(&time_of_day(self.start)))?;
        map.serialize_entry("fim", ascii(&time_of_day(self.end)))?;
        map.end()
    }
}

struct LeaveList<'a>(&'a [consultores_domain::Leave]);

impl Serialize for LeaveList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for leave in self.0 {
            seq.serialize_element(&LeavePeriod(leave))?;
        }
        seq.end()
    }
}

/// Days off as `LeaveWire` writes them.
struct LeavePeriod<'a>(&'a consultores_domain::Leave);

impl Serialize for LeavePeriod<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("de", &Date(self.0.from))?;
        map.serialize_entry("ate", &Date(self.0.to))?;
        map.end()
    }
}

/// `%Y-%m-%d`, as `LeaveWire` writes a date.
struct Date(NaiveDate);

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let date = self.0;
        match u32::try_from(date.year()) {
            Ok(year) if year <= 9999 => {
                let mut text = [0u8; 10];
                digits(&mut text[0..4], year);
                text[4] = b'-';
                digits(&mut text[5..7], date.month());
                text[7] = b'-';
                digits(&mut text[8..10], date.day());
                serializer.serialize_str(ascii(&text))
            }
            // Chrono writes a sign and more digits outside 0..=9999; not worth a fast path.
            _ => serializer.collect_str(&date.format("%Y-%m-%d")),
        }
    }
}

/// `2026-11-29T14:30:00.123456+00:00`, as [`super::time::timestamp`] writes it.
struct Timestamp<'a>(&'a DateTime<Utc>);

impl Serialize for Timestamp<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let at = self.0;
        let year = at.year();
        // A leap second (nanoseconds ≥ 1e9) is rare enough to go through chrono.
        let nanos = at.nanosecond();
        if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
            return serializer.serialize_str(&super::time::timestamp(at));
        }
        let mut text = *b"0000-00-00T00:00:00.000000+00:00";
        digits(&mut text[0..4], year.unsigned_abs());
        digits(&mut text[5..7], at.month());
        digits(&mut text[8..10], at.day());
        digits(&mut text[11..13], at.hour());
        digits(&mut text[14..16], at.minute());
        digits(&mut text[17..19], at.second());
        digits(&mut text[20..26], nanos / 1000);
        serializer.serialize_str(ascii(&text))
    }
}

/// `HH:MM` of minutes since midnight (`24:00` included), as `format_time_of_day` writes it.
fn time_of_day(minutes: MinuteOfDay) -> [u8; 5] {
    let mut text = *b"00:00";
    digits(&mut text[0..2], u32::from(minutes / 60).min(99));
    digits(&mut text[3..5], u32::from(minutes % 60));
    text
}

/// Writes `value` in decimal into all of `out`, zero-padded on the left.
fn digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The text of ASCII digits and punctuation written above (never fails on what `digits` writes).
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

#[cfg(test)]
#[path = "consultant_json_tests.rs"]
mod tests;
