//! The routing-rule fields of a consultant on the wire (`peso`, `limite_diario`,
//! `limite_abertos`, `fuso_horario`, `horarios`, `ausencias`), read from a body into domain
//! values with every refusal at its exact `loc` (`["body", "horarios", 0, "fim"]`), and their
//! wire shapes (`horarios`, `ausencias`) written back.

use consultores_domain::routing::{
    format_time_of_day, parse_date, parse_time_of_day, parse_weekday,
};
use consultores_domain::{
    ConsultantPatch, InvalidValue, Leave, Limit, RuleSettings, WeeklySchedule, Weight,
    WorkingHours, Zone,
};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::input::{ObjectReader, Presence, Slot};
use crate::validation::{FieldError, Loc, Place, WireRule};

/// The wire names of the rule fields, in the order their problems are reported.
pub(crate) const RULE_FIELDS: &[(&str, &str)] = &[
    ("weight", "peso"),
    ("daily_limit", "limite_diario"),
    ("open_limit", "limite_abertos"),
    ("time_zone", "fuso_horario"),
    ("schedule", "horarios"),
    ("leave", "ausencias"),
];

/// One working period on the wire.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"dia": 1, "inicio": "08:00", "fim": "18:00"}))]
pub struct WorkingHoursWire {
    /// ISO weekday: 1 = segunda … 7 = domingo.
    #[schema(minimum = 1, maximum = 7)]
    #[serde(rename = "dia")]
    pub day: u8,
    /// `HH:MM`, local time.
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    #[serde(rename = "inicio")]
    pub start: String,
    /// `HH:MM` after `inicio`; `24:00` is the end of the day.
    #[schema(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    #[serde(rename = "fim")]
    pub end: String,
}

/// Days off on the wire: inclusive local dates.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"de": "2026-12-24", "ate": "2026-12-26"}))]
pub struct LeaveWire {
    #[schema(format = Date)]
    #[serde(rename = "de")]
    pub from: String,
    #[schema(format = Date)]
    #[serde(rename = "ate")]
    pub to: String,
}

impl WorkingHoursWire {
    /// A weekly schedule on the wire, period by period.
    pub fn list(schedule: &WeeklySchedule) -> Vec<Self> {
        schedule
            .periods()
            .iter()
            .map(|p| Self {
                day: p.day,
                start: format_time_of_day(p.start),
                end: format_time_of_day(p.end),
            })
            .collect()
    }
}

impl LeaveWire {
    /// Days off on the wire.
    pub fn list(leave: &[Leave]) -> Vec<Self> {
        leave
            .iter()
            .map(|l| Self {
                from: l.from.format("%Y-%m-%d").to_string(),
                to: l.to.format("%Y-%m-%d").to_string(),
            })
            .collect()
    }
}

/// The rule fields of a request body; every field may be absent, `null` (back to its default)
/// or a value.
#[derive(Debug)]
pub(crate) struct RuleFields {
    weight: Slot<Weight>,
    daily_limit: Slot<Limit>,
    open_limit: Slot<Limit>,
    time_zone: Slot<Zone>,
    schedule: Slot<WeeklySchedule>,
    leave: Slot<Vec<Leave>>,
}

impl RuleFields {
    /// Reads and parses the rule fields, recording every refusal.
    pub fn read(reader: &mut ObjectReader<'_>) -> Self {
        let weight = ranged(reader, "peso", Weight::new);
        let daily_limit = ranged(reader, "limite_diario", Limit::new);
        let open_limit = ranged(reader, "limite_abertos", Limit::new);
        let time_zone = match reader.string("fuso_horario", Presence::Nullable) {
            Slot::Set(name) => refuse_at(
                reader,
                Loc::field(Place::Body, "fuso_horario"),
                Value::String(name.clone()),
                Zone::parse(&name),
            ),
            other => other.map(|_| Zone::default()),
        };
        let schedule = list(reader, "horarios", working_hours).map(WeeklySchedule::new);
        let leave = list(reader, "ausencias", leave_period);
        Self {
            weight,
            daily_limit,
            open_limit,
            time_zone,
            schedule,
            leave,
        }
    }

    /// The rules of a new consultant: absent and `null` take the defaults.
    pub fn into_settings(self) -> RuleSettings {
        RuleSettings {
            weight: self.weight.value().unwrap_or_default(),
            daily_limit: self.daily_limit.value(),
            open_limit: self.open_limit.value(),
            time_zone: self.time_zone.value(),
            schedule: self.schedule.value(),
            leave: self.leave.value(),
        }
    }

    /// Adds the present fields to `patch`: a value sets, `null` goes back to the default.
    pub fn patch_into(self, patch: &mut ConsultantPatch) {
        patch.weight = self.weight.patch().map(Option::unwrap_or_default);
        patch.daily_limit = self.daily_limit.patch();
        patch.open_limit = self.open_limit.patch();
        patch.time_zone = self.time_zone.patch();
        patch.schedule = self.schedule.patch();
        patch.leave = self.leave.patch();
    }
}

/// A nullable integer field checked by `parse` (a range), refused at its own `loc`.
fn ranged<T>(
    reader: &mut ObjectReader<'_>,
    wire: &'static str,
    parse: impl FnOnce(i64) -> Result<T, InvalidValue>,
) -> Slot<T> {
    match reader.int(wire, Presence::Nullable) {
        Slot::Set(raw) => refuse_at(
            reader,
            Loc::field(Place::Body, wire),
            Value::from(raw),
            parse(raw),
        ),
        Slot::Absent => Slot::Absent,
        Slot::Null => Slot::Null,
        Slot::Failed => Slot::Failed,
    }
}

fn refuse_at<T>(
    reader: &mut ObjectReader<'_>,
    loc: Loc,
    input: Value,
    parsed: Result<T, InvalidValue>,
) -> Slot<T> {
    match parsed {
        Ok(value) => Slot::Set(value),
        Err(problem) => {
            reader
                .problems()
                .push(FieldError::invalid(&problem, loc, input));
            Slot::Failed
        }
    }
}

/// Reads one item of a list at its `loc`, pushing its refusals; `None` when refused.
type ItemReader<T> = fn(&Map<String, Value>, Loc, &mut Vec<FieldError>) -> Option<T>;

/// A nullable list of objects, each read by `item` (which records its own refusals under the
/// item's `loc` and answers `None` for a refused item).
fn list<T>(reader: &mut ObjectReader<'_>, wire: &'static str, item: ItemReader<T>) -> Slot<Vec<T>> {
    let raw = reader.raw(wire);
    let loc = Loc::field(Place::Body, wire);
    let items = match &raw {
        Value::Null => {
            return match reader.has(wire) {
                true => Slot::Null,
                false => Slot::Absent,
            }
        }
        Value::Array(items) => items,
        other => {
            reader
                .problems()
                .push(FieldError::rule(WireRule::ListType, loc, other.clone()));
            return Slot::Failed;
        }
    };
    let mut errors = Vec::new();
    let mut values = Vec::with_capacity(items.len());
    for (index, value) in items.iter().enumerate() {
        let item_loc = loc.clone().index(index);
        match value {
            Value::Object(object) => {
                if let Some(parsed) = item(object, item_loc, &mut errors) {
                    values.push(parsed);
                }
            }
            other => errors.push(FieldError::rule(
                WireRule::ObjectType,
                item_loc,
                other.clone(),
            )),
        }
    }
    if errors.is_empty() {
        Slot::Set(values)
    } else {
        for error in errors {
            reader.problems().push(error);
        }
        Slot::Failed
    }
}

/// A required member of an item: an integer or a string, with the wire's type error.
fn member<'v>(
    object: &'v Map<String, Value>,
    loc: &Loc,
    name: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<&'v Value> {
    match object.get(name) {
        None | Some(Value::Null) => {
            errors.push(FieldError::rule(
                WireRule::Missing,
                loc.clone().then(name),
                Value::Object(object.clone()),
            ));
            None
        }
        Some(value) => Some(value),
    }
}

fn text_member<'v>(
    object: &'v Map<String, Value>,
    loc: &Loc,
    name: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<&'v str> {
    match member(object, loc, name, errors)? {
        Value::String(text) => Some(text),
        other => {
            errors.push(FieldError::rule(
                WireRule::StringType,
                loc.clone().then(name),
                other.clone(),
            ));
            None
        }
    }
}

fn checked<T>(
    parsed: Result<T, InvalidValue>,
    loc: Loc,
    input: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    parsed
        .map_err(|problem| {
            errors.push(FieldError::invalid(
                &problem,
                loc,
                Value::String(input.to_owned()),
            ))
        })
        .ok()
}

fn working_hours(
    object: &Map<String, Value>,
    loc: Loc,
    errors: &mut Vec<FieldError>,
) -> Option<WorkingHours> {
    let day = match member(object, &loc, "dia", errors) {
        Some(Value::Number(n)) => match n.as_i64().map(parse_weekday) {
            Some(Ok(day)) => Some(day),
            Some(Err(problem)) => {
                errors.push(FieldError::invalid(
                    &problem,
                    loc.clone().then("dia"),
                    n.clone().into(),
                ));
                None
            }
            None => {
                errors.push(FieldError::rule(
                    WireRule::IntType,
                    loc.clone().then("dia"),
                    n.clone().into(),
                ));
                None
            }
        },
        Some(other) => {
            errors.push(FieldError::rule(
                WireRule::IntType,
                loc.clone().then("dia"),
                other.clone(),
            ));
            None
        }
        None => None,
    };
    let start = text_member(object, &loc, "inicio", errors)
        .and_then(|t| checked(parse_time_of_day(t), loc.clone().then("inicio"), t, errors));
    let end_text = text_member(object, &loc, "fim", errors);
    let end =
        end_text.and_then(|t| checked(parse_time_of_day(t), loc.clone().then("fim"), t, errors));
    let (day, start, end, end_text) = (day?, start?, end?, end_text?);
    checked(
        WorkingHours::new(day, start, end),
        loc.then("fim"),
        end_text,
        errors,
    )
}

fn leave_period(
    object: &Map<String, Value>,
    loc: Loc,
    errors: &mut Vec<FieldError>,
) -> Option<Leave> {
    let from = text_member(object, &loc, "de", errors)
        .and_then(|t| checked(parse_date(t), loc.clone().then("de"), t, errors));
    let to_text = text_member(object, &loc, "ate", errors);
    let to = to_text.and_then(|t| checked(parse_date(t), loc.clone().then("ate"), t, errors));
    let (from, to, to_text) = (from?, to?, to_text?);
    checked(Leave::new(from, to), loc.then("ate"), to_text, errors)
}
