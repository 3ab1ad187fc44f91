//! Form bodies and query strings (`application/x-www-form-urlencoded`), and the messages shown
//! next to each field.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::HttpRequest;

/// The decoded `name=value` pairs of a form or a query string.
#[derive(Debug, Clone, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The query string of `req`.
    pub fn query(req: &HttpRequest) -> Self {
        Self::parse(req.query_string().as_bytes())
    }

    /// The last value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        consultores_http::input::query::last_value(&self.0, name)
    }

    /// The value of `name`, trimmed; `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name)
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }

    /// A checkbox: present means checked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Messages for fields, by field name, shown next to each one.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The status of a page showing these messages: 422 when there is any.
    pub fn status(&self) -> StatusCode {
        if self.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }

    /// Keeps the value of `result`, or records its message for `field`.
    pub fn take<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        result
            .map_err(|error| self.add(field, error.to_string()))
            .ok()
    }

    /// The API's 422 items, each under its field (`loc[1]`), when it is one of `fields`.
    pub fn from_validation(
        items: &[consultores_http::validation::FieldError],
        fields: &[&'static str],
    ) -> Self {
        let mut errors = Self::default();
        for item in items {
            let name = match item.loc.get(1) {
                Some(consultores_http::validation::LocPart::Name(name)) => name.as_ref(),
                _ => "",
            };
            if let Some(field) = fields.iter().find(|field| **field == name) {
                errors.add(*field, item.msg.clone());
            }
        }
        errors
    }
}
