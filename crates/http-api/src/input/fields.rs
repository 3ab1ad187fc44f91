//! Typed reading of a JSON body's fields with pydantic's lax rules, telling apart a field that
//! is absent, `null`, set, or failed.

use serde_json::{Map, Value};

use super::body::JsonBody;
use super::lax::{parse_bool, parse_int};
use crate::validation::{FieldError, Loc, Place, Problems, WireRule};

/// What a request said about one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot<T> {
    /// Not in the request.
    Absent,
    /// Explicitly `null` (only for fields that accept it).
    Null,
    /// A value of the right type.
    Set(T),
    /// Present but wrong; the problem is already recorded.
    Failed,
}

impl<T> Slot<T> {
    /// The value, if one was set.
    pub fn value(self) -> Option<T> {
        match self {
            Self::Set(value) => Some(value),
            _ => None,
        }
    }

    /// Converts the value, keeping the presence.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Slot<U> {
        match self {
            Self::Absent => Slot::Absent,
            Self::Null => Slot::Null,
            Self::Set(value) => Slot::Set(f(value)),
            Self::Failed => Slot::Failed,
        }
    }

    /// For partial updates: `None` leaves the field alone, `Some(None)` clears it,
    /// `Some(Some(v))` sets it.
    pub fn patch(self) -> Option<Option<T>> {
        match self {
            Self::Absent | Self::Failed => None,
            Self::Null => Some(None),
            Self::Set(value) => Some(Some(value)),
        }
    }
}

/// Whether a field must be present and whether it may be `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Must be present and not `null`.
    Required,
    /// May be absent; `null` is a type error.
    Optional,
    /// May be absent or `null`.
    Nullable,
}

/// Reads the fields of a JSON object body, recording every failure.
#[derive(Debug)]
pub struct ObjectReader<'a> {
    object: &'a Map<String, Value>,
    whole: &'a Value,
    problems: &'a mut Problems,
}

impl<'a> ObjectReader<'a> {
    /// The object of `body`, or `None` after recording why there is none (missing body, not an
    /// object, not JSON).
    pub fn open(body: &'a JsonBody, problems: &'a mut Problems) -> Option<Self> {
        match body {
            JsonBody::Json(whole @ Value::Object(object)) => Some(Self {
                object,
                whole,
                problems,
            }),
            JsonBody::Missing => {
                problems.push(FieldError::rule(
                    WireRule::Missing,
                    Loc::root(Place::Body),
                    Value::Null,
                ));
                None
            }
            JsonBody::Json(other) => {
                problems.push(FieldError::rule(
                    WireRule::ObjectType,
                    Loc::root(Place::Body),
                    other.clone(),
                ));
                None
            }
            JsonBody::NotJson(text) => {
                problems.push(FieldError::rule(
                    WireRule::ObjectType,
                    Loc::root(Place::Body),
                    Value::String(text.clone()),
                ));
                None
            }
        }
    }

    /// The raw value of `name` (`null` when absent), for error inputs.
    pub fn raw(&self, name: &str) -> Value {
        self.object.get(name).cloned().unwrap_or(Value::Null)
    }

    /// Whether the body has the member `name` (even `null`).
    pub fn has(&self, name: &str) -> bool {
        self.object.contains_key(name)
    }

    /// The problems recorded so far (for later stages that add their own).
    pub fn problems(&mut self) -> &mut Problems {
        self.problems
    }

    /// A JSON string.
    pub fn string(&mut self, name: &'static str, presence: Presence) -> Slot<String> {
        self.read(name, presence, WireRule::StringType, |value| match value {
            Value::String(text) => Ok(text.clone()),
            _ => Err(vec![WireRule::StringType]),
        })
    }

    /// An integer: a JSON integer, a float without fraction, or a string of digits.
    pub fn int(&mut self, name: &'static str, presence: Presence) -> Slot<i64> {
        self.read(name, presence, WireRule::IntType, |value| match value {
            Value::Number(number) => {
                if let Some(int) = number.as_i64() {
                    Ok(int)
                } else if number.is_u64() {
                    Err(vec![WireRule::IntOutOfRange])
                } else {
                    let float = number.as_f64().unwrap_or(f64::NAN);
                    if float.fract() != 0.0 {
                        Err(vec![WireRule::IntFromFloat])
                    } else if float.abs() < 9.2e18 {
                        Ok(float as i64)
                    } else {
                        Err(vec![WireRule::IntOutOfRange])
                    }
                }
            }
            Value::String(text) => parse_int(text).map_err(|rule| vec![rule]),
            _ => Err(vec![WireRule::IntType]),
        })
    }

    /// A boolean: JSON `true`/`false`, `0`/`1`, or a lax string (`"yes"`, `"off"`, …).
    pub fn bool(&mut self, name: &'static str, presence: Presence) -> Slot<bool> {
        self.read(name, presence, WireRule::BoolType, |value| match value {
            Value::Bool(flag) => Ok(*flag),
            Value::Number(number) => match number.as_i64() {
                Some(0) => Ok(false),
                Some(1) => Ok(true),
                _ => Err(vec![WireRule::BoolParsing]),
            },
            Value::String(text) => parse_bool(text).ok_or_else(|| vec![WireRule::BoolParsing]),
            _ => Err(vec![WireRule::BoolType]),
        })
    }

    /// A list of strings; each item that is not a string is recorded at its index.
    pub fn string_list(&mut self, name: &'static str, presence: Presence) -> Slot<Vec<String>> {
        let Some(Value::Array(items)) = self.object.get(name) else {
            return self.read(name, presence, WireRule::ListType, |_| {
                Err(vec![WireRule::ListType])
            });
        };
        let mut texts = Vec::with_capacity(items.len());
        let mut failed = false;
        for (index, item) in items.iter().enumerate() {
            match item {
                Value::String(text) => texts.push(text.clone()),
                other => {
                    failed = true;
                    self.problems.push(FieldError::rule(
                        WireRule::StringType,
                        Loc::field(Place::Body, name).index(index),
                        other.clone(),
                    ));
                }
            }
        }
        if failed {
            Slot::Failed
        } else {
            Slot::Set(texts)
        }
    }

    fn read<T>(
        &mut self,
        name: &'static str,
        presence: Presence,
        null_rule: WireRule,
        convert: impl FnOnce(&Value) -> Result<T, Vec<WireRule>>,
    ) -> Slot<T> {
        let loc = Loc::field(Place::Body, name);
        match (self.object.get(name), presence) {
            (None, Presence::Required) => {
                self.problems
                    .push(FieldError::rule(WireRule::Missing, loc, self.whole.clone()));
                Slot::Failed
            }
            (None, _) => Slot::Absent,
            (Some(Value::Null), Presence::Nullable) => Slot::Null,
            (Some(Value::Null), _) => {
                self.problems
                    .push(FieldError::rule(null_rule, loc, Value::Null));
                Slot::Failed
            }
            (Some(value), _) => match convert(value) {
                Ok(converted) => Slot::Set(converted),
                Err(rules) => {
                    for rule in rules {
                        self.problems
                            .push(FieldError::rule(rule, loc.clone(), value.clone()));
                    }
                    Slot::Failed
                }
            },
        }
    }
}
