//! Turning Pipedrive's answers into the domain's [`CrmError`]: retry later, or give up.
//!
//! Status codes as Pipedrive documents them
//! (<https://pipedrive.readme.io/docs/core-api-concepts-http-status-codes>): 401 is a bad token,
//! 402 a company account that is not open, 403 a forbidden request or a reached plan limit (and,
//! after ignored 429s, Cloudflare's block page), 404 an unknown record, 410 a retired resource,
//! 422 a reached limit, 429 a spent rate budget, 5xx (503 = maintenance) server trouble.

use consultores_domain::CrmError;
use serde_json::Value;

/// The longest part of Pipedrive's error text kept in a reason: enough to read, small enough
/// to store with each outbox item.
const MAX_ERROR_TEXT: usize = 300;

/// How long every delivery pauses after Pipedrive's block page (a 403 that is not the API's
/// JSON error): the block lifts by itself, and more traffic would only prolong it.
pub const BLOCK_PAUSE_SECS: u64 = 3_600;

/// True for a 403 whose body is not Pipedrive's JSON error (`{"success": false, "error": …}`):
/// the HTML page of the block Pipedrive applies to a token whose traffic went on after 429s.
/// Temporary, unlike the API's own 403 (a forbidden request), which is final.
pub fn is_block_page(status: u16, body: &str) -> bool {
    status == 403 && !is_api_error(body)
}

fn is_api_error(body: &str) -> bool {
    serde_json::from_str::<Value>(body)
        .ok()
        .is_some_and(|value| value.get("success").is_some() || value.get("error").is_some())
}

/// True for the statuses worth retrying: 408, 425, 429 and every 5xx.
pub fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429) || (500..=599).contains(&status)
}

/// The error for a non-2xx answer. `wait_secs` is how long Pipedrive asked the caller to wait
/// (worked out by the client from `Retry-After`, the rate-limit headers and its own pause); a
/// transient error carries it, a block page at least [`BLOCK_PAUSE_SECS`].
pub fn classify_status(status: u16, wait_secs: Option<u64>, body: &str) -> CrmError {
    let reason = status_reason(status, body);
    if is_block_page(status, body) {
        CrmError::Transient {
            reason: format!(
                "{reason} sem a resposta de erro da API: bloqueio do token pelo Pipedrive \
                 (provavelmente por requisições após respostas 429); entregas pausadas"
            ),
            retry_after_secs: Some(wait_secs.unwrap_or(0).max(BLOCK_PAUSE_SECS)),
        }
    } else if is_transient_status(status) {
        CrmError::Transient {
            reason,
            retry_after_secs: wait_secs,
        }
    } else {
        CrmError::Permanent { reason }
    }
}

/// "Pipedrive respondeu 404 Not Found: Deal not found" — the status and, when the body is
/// Pipedrive's JSON error envelope, its `error` text.
pub fn status_reason(status: u16, body: &str) -> String {
    let name = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("");
    let head = format!("Pipedrive respondeu {status} {name}");
    let head = head.trim_end();
    match pipedrive_error_text(body) {
        Some(text) => format!("{head}: {text}"),
        None => head.to_owned(),
    }
}

/// The `error` text of Pipedrive's error envelope (`{"success": false, "error": "…"}`), trimmed
/// and shortened. `None` for other bodies, e.g. the HTML page of Cloudflare's block: it says
/// nothing useful and would bloat the stored reason.
pub fn pipedrive_error_text(body: &str) -> Option<String> {
    let envelope: Value = serde_json::from_str(body).ok()?;
    let text = match envelope.get("error")? {
        Value::String(text) => text.trim().to_owned(),
        Value::Null => return None,
        // Some endpoints nest the message: {"error": {"message": "…"}}.
        other => other
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| other.to_string(), |text| text.trim().to_owned()),
    };
    if text.is_empty() {
        return None;
    }
    Some(shorten(&text, MAX_ERROR_TEXT))
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_is_permanent_with_pipedrive_text() {
        let body = r#"{"success":false,"error":"unauthorized access","errorCode":401,"error_info":"Please check developers.pipedrive.com"}"#;
        let error = classify_status(401, None, body);
        assert_eq!(
            error,
            CrmError::Permanent {
                reason: "Pipedrive respondeu 401 Unauthorized: unauthorized access".into()
            }
        );
    }

    #[test]
    fn client_errors_are_permanent() {
        let api_error = r#"{"success":false,"error":"nope"}"#;
        for status in [400, 402, 403, 404, 405, 410, 415, 422] {
            let error = classify_status(status, None, api_error);
            assert!(
                matches!(error, CrmError::Permanent { .. }),
                "{status}: {error:?}"
            );
        }
    }

    #[test]
    fn server_errors_and_throttling_are_transient() {
        for status in [408, 429, 500, 502, 503, 504] {
            let error = classify_status(status, None, "");
            assert!(
                matches!(error, CrmError::Transient { .. }),
                "{status}: {error:?}"
            );
        }
    }

    #[test]
    fn too_many_requests_waits_as_asked() {
        let error = classify_status(429, Some(7), "");
        assert_eq!(
            error,
            CrmError::Transient {
                reason: "Pipedrive respondeu 429 Too Many Requests".into(),
                retry_after_secs: Some(7)
            }
        );
    }

    #[test]
    fn a_block_page_is_temporary_with_a_long_wait() {
        for body in [
            "<html><head><title>Access denied | acme.pipedrive.com used Cloudflare</title></head></html>",
            "",
        ] {
            assert!(is_block_page(403, body));
            let error = classify_status(403, None, body);
            let CrmError::Transient {
                reason,
                retry_after_secs,
            } = error
            else {
                panic!("a block page is temporary: {error:?}");
            };
            assert_eq!(retry_after_secs, Some(BLOCK_PAUSE_SECS));
            assert!(reason.starts_with("Pipedrive respondeu 403 Forbidden sem a resposta"));
            assert!(!reason.contains("html"), "{reason}");
        }
        let forbidden = r#"{"success":false,"error":"You do not have permission","errorCode":403}"#;
        assert!(!is_block_page(403, forbidden));
        assert!(matches!(
            classify_status(403, None, forbidden),
            CrmError::Permanent { .. }
        ));
    }

    #[test]
    fn server_error_without_hints_leaves_the_wait_to_the_backoff() {
        let error = classify_status(500, None, "oops");
        assert_eq!(
            error,
            CrmError::Transient {
                reason: "Pipedrive respondeu 500 Internal Server Error".into(),
                retry_after_secs: None
            }
        );
    }

    #[test]
    fn html_bodies_are_left_out_of_the_reason() {
        let reason = status_reason(403, "<html><body>Access denied | Cloudflare</body></html>");
        assert_eq!(reason, "Pipedrive respondeu 403 Forbidden");
    }

    #[test]
    fn nested_error_messages_are_read() {
        let body = r#"{"success":false,"error":{"message":"Deal not found"}}"#;
        assert_eq!(
            pipedrive_error_text(body).as_deref(),
            Some("Deal not found")
        );
    }

    #[test]
    fn long_error_texts_are_shortened() {
        let body = serde_json::json!({"success": false, "error": "x".repeat(1_000)}).to_string();
        let text = pipedrive_error_text(&body).unwrap();
        assert_eq!(text.chars().count(), MAX_ERROR_TEXT + 1);
        assert!(text.ends_with('…'));
    }
}
