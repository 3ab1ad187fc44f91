//! The query string, read like FastAPI reads scalar query parameters: the last occurrence of a
//! name wins; lax conversions for integers and booleans.

use actix_web::HttpRequest;
use consultores_domain::CrmTarget;
use serde_json::Value;

use super::fields::Slot;
use super::lax::{parse_bool, parse_int};
use crate::validation::{FieldError, Loc, Place, Problems, WireRule};

/// The decoded `name=value` pairs of a request's query string.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Decodes the query string of `req` (`+` and percent escapes).
    pub fn of(req: &HttpRequest) -> Self {
        Self::parse(req.query_string())
    }

    /// Decodes a raw query string.
    pub fn parse(query: &str) -> Self {
        Self(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The pairs as handlers read them: the last value of each name, sorted by name.
    pub fn effective(&self) -> std::collections::BTreeMap<&str, &str> {
        // Later pairs overwrite earlier ones: the last occurrence wins, as in `last`.
        self.0
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }

    /// The last value given for `name`.
    pub fn last(&self, name: &str) -> Option<&str> {
        last_value(&self.0, name)
    }

    /// A required text parameter; a missing one is recorded.
    pub fn required_text(&self, name: &'static str, problems: &mut Problems) -> Option<&str> {
        let value = self.last(name);
        if value.is_none() {
            problems.push(FieldError::rule(
                WireRule::Missing,
                Loc::field(Place::Query, name),
                Value::Null,
            ));
        }
        value
    }

    /// An integer parameter.
    pub fn int(&self, name: &'static str, problems: &mut Problems) -> Slot<i64> {
        self.convert(name, problems, parse_int)
    }

    /// A boolean parameter (lax spellings).
    pub fn bool(&self, name: &'static str, problems: &mut Problems) -> Slot<bool> {
        self.convert(name, problems, |text| {
            parse_bool(text).ok_or(WireRule::BoolParsing)
        })
    }

    fn convert<T>(
        &self,
        name: &'static str,
        problems: &mut Problems,
        parse: impl FnOnce(&str) -> Result<T, WireRule>,
    ) -> Slot<T> {
        match self.last(name) {
            None => Slot::Absent,
            Some(text) => match parse(text) {
                Ok(value) => Slot::Set(value),
                Err(rule) => {
                    problems.push(FieldError::rule(
                        rule,
                        Loc::field(Place::Query, name),
                        Value::String(text.to_owned()),
                    ));
                    Slot::Failed
                }
            },
        }
    }
}

/// A required query parameter: an absent one is recorded as missing.
pub fn require<T>(slot: Slot<T>, name: &'static str, problems: &mut Problems) -> Option<T> {
    match slot {
        Slot::Set(value) => Some(value),
        Slot::Absent => {
            problems.push(FieldError::rule(
                WireRule::Missing,
                Loc::field(Place::Query, name),
                Value::Null,
            ));
            None
        }
        Slot::Null | Slot::Failed => None,
    }
}

/// The last value given for `name` among `pairs` (a query string or a form: the last wins).
pub fn last_value<'p>(pairs: &'p [(String, String)], name: &str) -> Option<&'p str> {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A language code in the query (`idioma`), parsed by the domain.
pub fn language(
    raw: Option<&str>,
    name: &'static str,
    problems: &mut Problems,
) -> Option<consultores_domain::Language> {
    parsed(raw, name, problems, consultores_domain::Language::parse)
}

/// The query parameter `name` (its value `raw`) as `parse` reads it, or a recorded problem.
pub fn parsed<T>(
    raw: Option<&str>,
    name: &'static str,
    problems: &mut Problems,
    parse: impl FnOnce(&str) -> Result<T, consultores_domain::InvalidValue>,
) -> Option<T> {
    let raw = raw?;
    parse(raw)
        .map_err(|problem| {
            problems.push(FieldError::invalid(
                &problem,
                Loc::field(Place::Query, name),
                Value::String(raw.to_owned()),
            ));
        })
        .ok()
}

/// The most languages one rotation request may name (`idioma` and `alternativas`), as a
/// consultant's `idiomas`.
const MAX_REQUESTED_LANGUAGES: usize = 20;

/// `alternativas=en,es`: languages to try in order after `first`, each checked at its index
/// (`["query", "alternativas", 1]`); repeats and the first language itself are dropped.
pub fn alternatives(
    query: &QueryParams,
    first: Option<&consultores_domain::Language>,
    problems: &mut Problems,
) -> Vec<consultores_domain::Language> {
    let Some(raw) = query.last("alternativas") else {
        return Vec::new();
    };
    let mut found: Vec<consultores_domain::Language> = Vec::new();
    let codes: Vec<&str> = raw.split(',').map(str::trim).collect();
    if codes.len() >= MAX_REQUESTED_LANGUAGES {
        problems.push(FieldError::invalid(
            &consultores_domain::InvalidValue::TooManyItems {
                max: MAX_REQUESTED_LANGUAGES - 1,
            },
            Loc::field(Place::Query, "alternativas"),
            Value::String(raw.to_owned()),
        ));
        return found;
    }
    for (index, code) in codes.into_iter().enumerate() {
        match consultores_domain::Language::parse(code) {
            Ok(language) => {
                if Some(&language) != first && !found.contains(&language) {
                    found.push(language);
                }
            }
            Err(problem) => problems.push(FieldError::invalid(
                &problem,
                Loc::field(Place::Query, "alternativas").index(index),
                Value::String(code.to_owned()),
            )),
        }
    }
    found
}

/// The CRM record a rotation request names, if any: `deal_id` (a positive integer), `lead_id`
/// (a UUID) or `person_id` (a positive integer), at most one of them. Each invalid value, and
/// each parameter beyond the first one given, is recorded against its own name.
pub fn crm_target(query: &QueryParams, problems: &mut Problems) -> Option<CrmTarget> {
    let mut found: Option<CrmTarget> = None;
    let mut given: Option<&'static str> = None;
    for name in ["deal_id", "lead_id", "person_id"] {
        let Some(raw) = query.last(name) else {
            continue;
        };
        if let Some(first) = given {
            problems.push(FieldError::query(
                "value_error.crm_target",
                name,
                format!("informe só um de deal_id, lead_id ou person_id (já veio {first})"),
                raw,
            ));
            continue;
        }
        given = Some(name);
        let parsed = match name {
            "lead_id" => CrmTarget::lead(raw).map_err(|problem| {
                FieldError::invalid(
                    &problem,
                    Loc::field(Place::Query, name),
                    Value::String(raw.to_owned()),
                )
            }),
            _ => match query.int(name, problems) {
                Slot::Set(id) => {
                    let target = if name == "deal_id" {
                        CrmTarget::deal(id)
                    } else {
                        CrmTarget::person(id)
                    };
                    target.map_err(|problem| {
                        FieldError::invalid(
                            &problem,
                            Loc::field(Place::Query, name),
                            Value::String(raw.to_owned()),
                        )
                    })
                }
                // `int` has recorded why.
                _ => continue,
            },
        };
        match parsed {
            Ok(target) => found = Some(target),
            Err(error) => problems.push(error),
        }
    }
    found
}
