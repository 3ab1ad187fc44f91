//! The FastAPI-shaped 422: `{"detail": [{"type", "loc", "msg", "input"}]}`, listing every failing
//! input at once. Type errors of the wire, `validator` rules of the DTOs and the domain's parsing
//! all end up here as [`FieldError`]s collected in [`Problems`].

use std::borrow::Cow;

use consultores_domain::InvalidValue;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One element of a `loc`: a name (`"body"`, `"nome"`) or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LocPart {
    Name(Cow<'static, str>),
    Index(usize),
}

/// Where an input came from: the first element of every `loc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Body,
    Query,
    Path,
    Header,
}

impl Place {
    fn as_str(self) -> &'static str {
        match self {
            Self::Body => "body",
            Self::Query => "query",
            Self::Path => "path",
            Self::Header => "header",
        }
    }
}

/// A `loc` path such as `["body", "idiomas", 2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc(Vec<LocPart>);

impl Loc {
    /// The input as a whole (`["body"]`).
    pub fn root(place: Place) -> Self {
        Self(vec![LocPart::Name(Cow::Borrowed(place.as_str()))])
    }

    /// A named input (`["query", "idioma"]`).
    pub fn field(place: Place, name: &'static str) -> Self {
        Self::root(place).then(name)
    }

    /// A deeper name.
    pub fn then(mut self, name: &'static str) -> Self {
        self.0.push(LocPart::Name(Cow::Borrowed(name)));
        self
    }

    /// A list index.
    pub fn index(mut self, index: usize) -> Self {
        self.0.push(LocPart::Index(index));
        self
    }
}

/// One failed input, in pydantic's shape. `msg` is Portuguese; `type` is a stable code (pydantic's
/// names where one exists).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldError {
    #[serde(rename = "type")]
    #[schema(example = "missing")]
    pub kind: Cow<'static, str>,
    #[schema(example = json!(["body", "nome"]))]
    pub loc: Vec<LocPart>,
    #[schema(example = "Campo obrigatório")]
    pub msg: String,
    /// The value that failed (`null` when it was missing).
    #[schema(value_type = Value)]
    pub input: Value,
}

impl FieldError {
    /// A failure of rule `kind` with message `msg`.
    pub fn new(
        kind: impl Into<Cow<'static, str>>,
        loc: Loc,
        msg: impl Into<String>,
        input: Value,
    ) -> Self {
        Self {
            kind: kind.into(),
            loc: loc.0,
            msg: msg.into(),
            input,
        }
    }

    /// A failure of rule `kind` on the query parameter `name`, whose value was `raw`.
    pub fn query(
        kind: impl Into<Cow<'static, str>>,
        name: &'static str,
        msg: impl Into<String>,
        raw: &str,
    ) -> Self {
        Self::new(
            kind,
            Loc::field(Place::Query, name),
            msg,
            Value::String(raw.to_owned()),
        )
    }

    /// A failure of one of the wire's own rules.
    pub fn rule(rule: WireRule, loc: Loc, input: Value) -> Self {
        Self::new(rule.kind(), loc, rule.message(), input)
    }

    /// A value the domain refused: its `kind` and Portuguese text.
    pub fn invalid(problem: &InvalidValue, loc: Loc, input: Value) -> Self {
        Self::new(problem.kind(), loc, problem.to_string(), input)
    }

    pub(crate) fn loc_field(&self) -> Option<&str> {
        match self.loc.get(1) {
            Some(LocPart::Name(name)) => Some(name),
            _ => None,
        }
    }
}

/// The rules the wire itself enforces before any DTO or domain rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireRule {
    Missing,
    StringType,
    IntType,
    IntParsing,
    IntFromFloat,
    IntOutOfRange,
    BoolType,
    BoolParsing,
    ListType,
    ObjectType,
    JsonInvalid,
}

impl WireRule {
    /// pydantic's name for the rule.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::StringType => "string_type",
            Self::IntType => "int_type",
            Self::IntParsing => "int_parsing",
            Self::IntFromFloat => "int_from_float",
            Self::IntOutOfRange => "int_parsing_size",
            Self::BoolType => "bool_type",
            Self::BoolParsing => "bool_parsing",
            Self::ListType => "list_type",
            Self::ObjectType => "model_attributes_type",
            Self::JsonInvalid => "json_invalid",
        }
    }

    /// The Portuguese message shown to clients.
    pub fn message(self) -> &'static str {
        match self {
            Self::Missing => "Campo obrigatório",
            Self::StringType => "deve ser um texto",
            Self::IntType => "deve ser um número inteiro",
            Self::IntParsing => "deve ser um número inteiro válido",
            Self::IntFromFloat => "deve ser um número inteiro, sem parte fracionária",
            Self::IntOutOfRange => "deve ser um número inteiro de 64 bits",
            Self::BoolType => "deve ser um booleano (true ou false)",
            Self::BoolParsing => "deve ser um booleano válido (true ou false)",
            Self::ListType => "deve ser uma lista",
            Self::ObjectType => "deve ser um objeto JSON",
            Self::JsonInvalid => "JSON inválido",
        }
    }
}

/// Every problem found in one request, in the order inputs were read (path, query, headers,
/// body; body fields in their declared order).
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Keeps the value of `result`, or records its error and gives `None`.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error);
                None
            }
        }
    }

    /// Whether some input already failed at `loc`'s field (so later stages skip it).
    pub fn has_field(&self, place: Place, name: &str) -> bool {
        self.0.iter().any(|error| {
            matches!(error.loc.first(), Some(LocPart::Name(p)) if p == place.as_str())
                && error.loc_field() == Some(name)
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Orders the errors of `place` by the declared order of `fields` (stable, so several errors
    /// of one field keep their order), after the errors of the places read before it.
    pub fn order_fields(&mut self, place: Place, fields: &[&str]) {
        let rank = |error: &FieldError| {
            let here = matches!(error.loc.first(), Some(LocPart::Name(p)) if p == place.as_str());
            let position = error
                .loc_field()
                .and_then(|name| fields.iter().position(|field| *field == name))
                .unwrap_or(usize::MAX);
            (here, if here { position } else { 0 })
        };
        self.0.sort_by_key(rank);
    }

    /// The problems, in order (for [`crate::errors`], which turns them into the 422).
    pub(crate) fn into_items(self) -> Vec<FieldError> {
        self.0
    }
}

/// Records the errors of `validator` on a DTO, naming each field as on the wire.
///
/// `wire_name` maps a Rust field name to its wire name; `input` gives the raw value of a wire
/// field for the error's `input`. Length rules become the domain's length errors
/// (`string_too_short`, `too_long`, …); range rules become `greater_than_equal` /
/// `less_than_equal`.
pub fn record_validator_errors(
    errors: &validator::ValidationErrors,
    place: Place,
    wire_name: impl Fn(&str) -> Option<&'static str>,
    input: impl Fn(&str) -> Value,
    problems: &mut Problems,
) {
    for (field, failures) in errors.field_errors() {
        let Some(name) = wire_name(&field) else {
            continue;
        };
        for failure in failures {
            let value = input(name);
            let loc = Loc::field(place, name);
            problems.push(translate(failure, loc, value));
        }
    }
}

fn translate(failure: &validator::ValidationError, loc: Loc, input: Value) -> FieldError {
    let bound = |key: &str| failure.params.get(key).and_then(Value::as_f64);
    let (min, max) = (bound("min"), bound("max"));
    match failure.code.as_ref() {
        "length" => {
            let (measure, is_list) = match failure.params.get("value") {
                Some(Value::String(text)) => (text.chars().count(), false),
                Some(Value::Array(items)) => (items.len(), true),
                _ => (0, false),
            };
            let to_usize = |bound: f64| bound as usize;
            let problem = match (min.map(to_usize), max.map(to_usize)) {
                (Some(min), _) if measure < min && is_list => InvalidValue::TooFewItems { min },
                (Some(min), _) if measure < min => InvalidValue::TooShort { min },
                (_, Some(max)) if is_list => InvalidValue::TooManyItems { max },
                (_, Some(max)) => InvalidValue::TooLong { max },
                _ => InvalidValue::TooShort { min: 0 },
            };
            FieldError::invalid(&problem, loc, input)
        }
        "range" => {
            let measure = failure.params.get("value").and_then(Value::as_f64);
            match (measure, min, max) {
                (Some(value), Some(min), _) if value < min => FieldError::new(
                    "greater_than_equal",
                    loc,
                    format!("deve ser maior ou igual a {min}"),
                    input,
                ),
                (_, _, Some(max)) => FieldError::new(
                    "less_than_equal",
                    loc,
                    format!("deve ser menor ou igual a {max}"),
                    input,
                ),
                _ => FieldError::new("value_error", loc, "valor fora do intervalo", input),
            }
        }
        code => FieldError::new(
            code.to_owned(),
            loc,
            failure
                .message
                .as_deref()
                .unwrap_or("valor inválido")
                .to_owned(),
            input,
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::errors::ApiError;
    use serde_json::json;
    use validator::Validate;

    use super::*;

    #[derive(Validate)]
    struct Sample {
        #[validate(length(min = 3, max = 5))]
        name: String,
        #[validate(length(min = 1))]
        items: Vec<String>,
        #[validate(range(min = 1, max = 10))]
        count: i64,
    }

    fn problems_of(sample: &Sample) -> Vec<FieldError> {
        let errors = sample.validate().unwrap_err();
        let mut problems = Problems::new();
        let wire = |field: &str| match field {
            "name" => Some("nome"),
            "items" => Some("itens"),
            "count" => Some("quantidade"),
            _ => None,
        };
        record_validator_errors(&errors, Place::Body, wire, |_| Value::Null, &mut problems);
        problems.order_fields(Place::Body, &["nome", "itens", "quantidade"]);
        problems.0
    }

    #[test]
    fn validator_rules_become_pydantic_style_items_under_wire_names() {
        let short = problems_of(&Sample {
            name: "ab".to_owned(),
            items: vec![],
            count: 0,
        });
        let kinds: Vec<&str> = short.iter().map(|e| e.kind.as_ref()).collect();
        assert_eq!(
            kinds,
            ["string_too_short", "too_short", "greater_than_equal"]
        );
        assert_eq!(
            short[0].loc,
            vec![LocPart::Name("body".into()), LocPart::Name("nome".into())]
        );
        assert_eq!(short[0].msg, "deve ter no mínimo 3 caracteres");
        assert_eq!(short[2].msg, "deve ser maior ou igual a 1");

        let long = problems_of(&Sample {
            name: "abcdef".to_owned(),
            items: vec!["x".to_owned()],
            count: 11,
        });
        let kinds: Vec<&str> = long.iter().map(|e| e.kind.as_ref()).collect();
        assert_eq!(kinds, ["string_too_long", "less_than_equal"]);
        assert_eq!(long[1].msg, "deve ser menor ou igual a 10");
    }

    #[test]
    fn field_errors_serialize_in_the_fastapi_shape() {
        let error = FieldError::rule(
            WireRule::Missing,
            Loc::field(Place::Body, "idiomas").index(2),
            json!({"nome": "Ana"}),
        );
        assert_eq!(
            serde_json::to_value(error).unwrap(),
            json!({"type": "missing", "loc": ["body", "idiomas", 2], "msg": "Campo obrigatório",
                   "input": {"nome": "Ana"}})
        );
    }

    #[test]
    fn problems_finish_with_every_error_or_nothing() {
        assert!(Problems::new().finish().is_ok());
        let mut problems = Problems::new();
        problems.push(FieldError::rule(
            WireRule::IntParsing,
            Loc::field(Place::Path, "id"),
            json!("x"),
        ));
        problems.push(FieldError::rule(
            WireRule::Missing,
            Loc::field(Place::Query, "q"),
            Value::Null,
        ));
        match problems.finish() {
            Err(ApiError::Validation(items)) => assert_eq!(items.len(), 2),
            other => panic!("{other:?}"),
        }
    }
}
