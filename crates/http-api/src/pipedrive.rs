//! The Pipedrive integration as the HTTP adapter sees it: what [`crate::ApiState::with_pipedrive`]
//! adds when the integration is on. Without it every route behaves exactly as in v6 (the CRM
//! query parameters of the rotation are validated and ignored, `POST /webhooks/pipedrive`
//! answers 404 as if it did not exist).

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use consultores_domain::{
    same_secret, CrmEventDecoder, CrmEventInbox, CrmOutbox, CrmUserDirectory,
};

/// `Debug` showing only `$field`: the other fields are ports, which have nothing to show.
macro_rules! debug_showing {
    ($type:ident, $field:ident) => {
        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($type))
                    .field(stringify!($field), &self.$field)
                    .finish_non_exhaustive()
            }
        }
    };
}

/// The integration's ports and settings.
#[derive(Clone)]
pub struct PipedriveIntegration {
    /// Where the rotation's CRM actions are stored: read for `pipedrive` in answers.
    pub outbox: Arc<dyn CrmOutbox>,
    /// Checks `id_pipedrive` on `POST /consultor` and `PUT /consultor/{id}` (cached user list).
    pub users: Arc<CrmUserDirectory>,
    /// `POST /webhooks/pipedrive`, when its credentials are configured.
    pub webhook: Option<WebhookIntake>,
}

debug_showing!(PipedriveIntegration, webhook);

/// What the webhook endpoint needs: who may call it, how to read a delivery, where to record it.
#[derive(Clone)]
pub struct WebhookIntake {
    pub credentials: BasicCredentials,
    pub decoder: Arc<dyn CrmEventDecoder>,
    pub inbox: Arc<dyn CrmEventInbox>,
}

debug_showing!(WebhookIntake, credentials);

/// HTTP basic-auth credentials (Pipedrive's only protection of webhooks, which are unsigned).
/// `Debug` never shows the password.
#[derive(Clone)]
pub struct BasicCredentials {
    user: String,
    password: String,
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl BasicCredentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }

    /// Whether an `Authorization` header value carries exactly these credentials
    /// (`Basic base64(user:password)`, scheme case-insensitive). User and password are each
    /// compared in constant time over SHA-256 digests, so neither their content nor their
    /// length leaks through timing.
    pub fn accept(&self, authorization: Option<&[u8]>) -> bool {
        let Some((user, password)) = authorization.and_then(decode_basic) else {
            return false;
        };
        let user_ok = same_secret(&user, &self.user);
        let password_ok = same_secret(&password, &self.password);
        user_ok & password_ok
    }

    /// The `Authorization` header value of these credentials (for clients and tests).
    pub fn header_value(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.user, self.password))
        )
    }
}

/// `(user, password)` of a `Basic` authorization header.
fn decode_basic(header: &[u8]) -> Option<(String, String)> {
    let header = std::str::from_utf8(header).ok()?.trim();
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Option<&[u8]> {
        Some(text.as_bytes())
    }

    #[test]
    fn accepts_exactly_the_configured_credentials() {
        let credentials = BasicCredentials::new("pipedrive", "s3nh@:com:dois-pontos");
        let good = credentials.header_value();
        assert!(credentials.accept(header(&good)));
        assert!(credentials.accept(header(&good.replace("Basic", "basic"))));
        let other = BasicCredentials::new("pipedrive", "errada").header_value();
        assert!(!credentials.accept(header(&other)));
        let other_user = BasicCredentials::new("outro", "s3nh@:com:dois-pontos").header_value();
        assert!(!credentials.accept(header(&other_user)));
        for bad in ["", "Basic", "Basic !!!", "Bearer abc", "Basic cGlwZWRyaXZl"] {
            assert!(!credentials.accept(header(bad)), "{bad:?}");
        }
        assert!(!credentials.accept(None));
        assert!(!credentials.accept(Some(&[0xff, 0xfe])));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let shown = format!("{:?}", BasicCredentials::new("pipedrive", "segredo-123"));
        assert!(!shown.contains("segredo-123"), "{shown}");
        assert!(shown.contains("pipedrive"));
    }
}
