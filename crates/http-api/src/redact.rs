//! Secrets kept out of the log: values of key-like names (`key`, `api_key`, `segredo`,
//! `password`, `senha`, `token`, …) are replaced by `***` in logged query strings and bodies.
//! `POST /api-keys` answers a new key in its body, so with `LOG_BODIES=true` the body logger
//! would otherwise write it.

use serde_json::Value;

use crate::input::QueryParams;

/// What replaces a secret value.
pub const REDACTED: &str = "***";

/// Name fragments that mark a value as secret (compared lowercased, without `-` and `_`).
const SECRET_WORDS: &[&str] = &[
    "key", "token", "secret", "segredo", "password", "passwd", "senha", "chave",
];

/// Whether the value of a field or parameter called `name` is secret.
pub fn is_secret_name(name: &str) -> bool {
    let lowered = name.to_lowercase().replace(['-', '_'], "");
    SECRET_WORDS.iter().any(|word| lowered.contains(word))
}

/// The query string as `name=value&…` with the values of secret names replaced.
pub fn query(query: &str) -> String {
    let params = QueryParams::parse(query);
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params.pairs() {
        let value = if is_secret_name(name) {
            REDACTED
        } else {
            value
        };
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// A body as text for the log, its secret values replaced, cut to `max_bytes` (after the
/// redaction, so a cut never exposes half a secret). A JSON body is redacted field by field at
/// any depth; any other body (invalid or cut JSON) by its `"name": "value"` pairs.
pub fn body(bytes: &[u8], max_bytes: usize) -> String {
    let text = match serde_json::from_slice::<Value>(bytes) {
        Ok(mut value) => {
            redact_value(&mut value);
            value.to_string()
        }
        Err(_) => redact_text(&String::from_utf8_lossy(bytes)),
    };
    cut(text, max_bytes)
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                if is_secret_name(name) {
                    *field = Value::String(REDACTED.to_owned());
                } else {
                    redact_value(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// Replaces the string after every `"<secret name>":`; an unterminated one is replaced to the end.
fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let Some(length) = quoted_length(&rest[start..]) else {
            break;
        };
        let name = &rest[start + 1..start + length - 1];
        out.push_str(&rest[..start + length]);
        rest = &rest[start + length..];
        if !is_secret_name(name) {
            continue;
        }
        let Some(after_colon) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        let value = after_colon.trim_start();
        if value.starts_with('"') {
            out.push_str(&rest[..rest.len() - value.len()]);
            out.push('"');
            out.push_str(REDACTED);
            out.push('"');
            rest = &value[quoted_length(value).unwrap_or(value.len())..];
        }
    }
    out.push_str(rest);
    out
}

/// The length in bytes of the JSON string at the start of `text` (which starts with `"`),
/// closing quote included; None when it is not closed.
fn quoted_length(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, character) in text.char_indices().skip(1) {
        match character {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(index + 1),
            _ => {}
        }
    }
    None
}

fn cut(mut text: String, max_bytes: usize) -> String {
    if text.len() > max_bytes {
        let mut end = max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised_in_any_spelling() {
        for name in [
            "key",
            "api_key",
            "API-Key",
            "segredo",
            "senha",
            "password",
            "token",
            "api_token",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["nome", "idioma", "scope", "descricao", "id"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn json_bodies_lose_their_secret_values_at_any_depth() {
        let logged = body(
            br#"{"id":1,"key":"csk_abc","meta":{"senha":"x1","lista":[{"token":7}]},"nome":"Ana"}"#,
            4096,
        );
        assert!(
            !logged.contains("csk_abc") && !logged.contains("x1"),
            "{logged}"
        );
        assert!(!logged.contains(":7"), "{logged}");
        assert!(logged.contains("\"nome\":\"Ana\""), "{logged}");
    }

    #[test]
    fn invalid_or_cut_json_loses_its_secret_values_too() {
        assert_eq!(
            redact_text(r#"{"key" : "csk_a\"b", "nome": "Ana", "#),
            r#"{"key" : "***", "nome": "Ana", "#
        );
        assert_eq!(
            redact_text(r#"{"segredo": "csk_cut"#),
            r#"{"segredo": "***""#
        );
        assert_eq!(redact_text(r#"{"key"#), r#"{"key"#);
        let long = format!(r#"{{"nome": "{}", "key": "csk_late"}}"#, "a".repeat(5000));
        assert!(!body(long.as_bytes(), 4096).contains("csk_"));
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        assert_eq!(cut("ããã".to_owned(), 3), "ã");
    }
}
