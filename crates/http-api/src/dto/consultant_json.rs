//! A consultant written to the wire straight from the domain value: the same bytes as serde_json
//! writes for [`ConsultantResponse`] (a test compares them), without first copying every string
//! into an owned DTO, and without serde: the field names are constant bytes (serde_json escapes
//! every key, byte by byte, and writes each piece through its own small copy), and the answer
//! goes into one buffer sized from the first consultant written.

use std::io::Write;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use consultores_domain::routing::{Availability, MinuteOfDay};
use consultores_domain::{availability, Consultant};

#[cfg(doc)]
use super::consultant::ConsultantResponse;

/// A consultant as every endpoint answers it at an instant, borrowed for writing.
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

    /// Appends the JSON object, as serde_json's compact form of [`ConsultantResponse`] (field
    /// names and order are that struct's).
    pub fn write(&self, out: &mut Vec<u8>) {
        let c = self.consultant;
        let rules = &c.routing;
        out.extend_from_slice(b"{\"id\":");
        integer(out, c.id.0);
        out.extend_from_slice(b",\"nome\":");
        string(out, c.name.as_str());
        out.extend_from_slice(b",\"email\":");
        optional(out, c.email.as_ref(), |out, email| {
            string(out, email.as_str())
        });
        out.extend_from_slice(b",\"telefone\":");
        optional(out, c.phone.as_ref(), |out, phone| {
            string(out, phone.as_str())
        });
        out.extend_from_slice(b",\"idiomas\":[");
        for (index, language) in c.languages.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            string(out, language.as_str());
        }
        out.extend_from_slice(b"],\"status_ativo\":");
        boolean(out, c.active);
        out.extend_from_slice(b",\"status_ativo_sequencial\":");
        boolean(out, c.in_rotation);
        out.extend_from_slice(b",\"status_online\":");
        boolean(out, c.online);
        out.extend_from_slice(b",\"ultimo_atendimento\":");
        optional(out, c.last_served_at.as_ref(), timestamp);
        out.extend_from_slice(b",\"id_pipedrive\":");
        optional(out, c.pipedrive_user_id, |out, id| integer(out, id.get()));
        out.extend_from_slice(b",\"peso\":");
        integer(out, rules.weight.get());
        out.extend_from_slice(b",\"limite_diario\":");
        optional(out, rules.daily_limit, |out, limit| {
            integer(out, limit.get())
        });
        out.extend_from_slice(b",\"limite_abertos\":");
        optional(out, rules.open_limit, |out, limit| {
            integer(out, limit.get())
        });
        out.extend_from_slice(b",\"fuso_horario\":");
        string(out, rules.time_zone.name());
        out.extend_from_slice(b",\"horarios\":");
        optional(out, rules.schedule.as_ref(), |out, schedule| {
            out.push(b'[');
            for (index, period) in schedule.periods().iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"dia\":");
                integer(out, i64::from(period.day));
                out.extend_from_slice(b",\"inicio\":\"");
                out.extend_from_slice(&time_of_day(period.start));
                out.extend_from_slice(b"\",\"fim\":\"");
                out.extend_from_slice(&time_of_day(period.end));
                out.extend_from_slice(b"\"}");
            }
            out.push(b']');
        });
        out.extend_from_slice(b",\"ausencias\":");
        optional(out, rules.leave.as_deref(), |out, leave| {
            out.push(b'[');
            for (index, days) in leave.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"de\":");
                date(out, days.from);
                out.extend_from_slice(b",\"ate\":");
                date(out, days.to);
                out.push(b'}');
            }
            out.push(b']');
        });
        out.extend_from_slice(b",\"disponivel\":");
        boolean(out, self.status.available());
        out.extend_from_slice(b",\"motivo_indisponivel\":");
        optional(out, self.status.reason, |out, reason| {
            string(out, reason.as_str());
        });
        out.extend_from_slice(b",\"atendimentos_hoje\":");
        integer(out, self.status.assignments_today);
        out.extend_from_slice(b",\"protocolos_abertos\":");
        integer(out, self.status.open_protocols);
        out.push(b'}');
    }

    /// The object alone, as a response body.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIRST_GUESS);
        self.write(&mut out);
        out
    }
}

/// Bytes reserved for one consultant before any was written (one without rules takes ~450).
const FIRST_GUESS: usize = 512;

/// Appends `consultants` at `now` as array elements, `[` before the first when `opening`; the
/// buffer grows once, by the size of the first written times the number left (plus an eighth).
pub fn write_elements(
    out: &mut Vec<u8>,
    consultants: &[Consultant],
    now: DateTime<Utc>,
    opening: bool,
) {
    out.reserve(FIRST_GUESS);
    for (index, consultant) in consultants.iter().enumerate() {
        let start = out.len();
        out.push(if opening && index == 0 { b'[' } else { b',' });
        ConsultantJson::new(consultant, now).write(out);
        if index == 0 {
            let first = out.len() - start;
            let left = consultants.len() - 1;
            out.reserve(left * (first + first / 8) + 1);
        }
    }
}

/// `consultants` at `now` as a whole JSON array.
pub fn array(consultants: &[Consultant], now: DateTime<Utc>) -> Vec<u8> {
    if consultants.is_empty() {
        return b"[]".to_vec();
    }
    let mut out = Vec::new();
    write_elements(&mut out, consultants, now, true);
    out.push(b']');
    out
}

fn optional<T>(out: &mut Vec<u8>, value: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
    match value {
        Some(value) => write(out, value),
        None => out.extend_from_slice(b"null"),
    }
}

fn boolean(out: &mut Vec<u8>, value: bool) {
    out.extend_from_slice(if value { b"true" } else { b"false" });
}

/// Decimal, as serde_json writes integers.
fn integer(out: &mut Vec<u8>, value: i64) {
    let mut text = [0u8; 20];
    let mut at = text.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        text[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&text[at..]);
}

/// A JSON string, escaped as serde_json escapes: `"` and `\`, the control characters (the short
/// forms `\b \t \n \f \r`, else `\u00XX` in lowercase hex); everything else as is.
fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut copied = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&bytes[copied..index]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
                copied = index + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[copied..index]);
        out.extend_from_slice(escape);
        copied = index + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

/// `"%Y-%m-%d"`, as `LeaveWire` writes a date.
fn date(out: &mut Vec<u8>, date: NaiveDate) {
    match u32::try_from(date.year()) {
        Ok(year) if year <= 9999 => {
            let mut text = *b"\"0000-00-00\"";
            digits(&mut text[1..5], year);
            digits(&mut text[6..8], date.month());
            digits(&mut text[9..11], date.day());
            out.extend_from_slice(&text);
        }
        // Chrono writes a sign and more digits outside 0..=9999; not worth a fast path.
        _ => {
            out.push(b'"');
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{}", date.format("%Y-%m-%d"));
            out.push(b'"');
        }
    }
}

/// `"2026-11-29T14:30:00.123456+00:00"`, as [`super::time::timestamp`] writes it.
fn timestamp(out: &mut Vec<u8>, at: &DateTime<Utc>) {
    let year = at.year();
    // A leap second (nanoseconds ≥ 1e9) is rare enough to go through chrono.
    let nanos = at.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        string(out, &super::time::timestamp(at));
        return;
    }
    let mut text = *b"\"0000-00-00T00:00:00.000000+00:00\"";
    digits(&mut text[1..5], year.unsigned_abs());
    digits(&mut text[6..8], at.month());
    digits(&mut text[9..11], at.day());
    digits(&mut text[12..14], at.hour());
    digits(&mut text[15..17], at.minute());
    digits(&mut text[18..20], at.second());
    digits(&mut text[21..27], nanos / 1000);
    out.extend_from_slice(&text);
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

#[cfg(test)]
#[path = "consultant_json_tests.rs"]
mod tests;
