//! The Standard Webhooks signature (<https://www.standardwebhooks.com>): `webhook-signature:
//! v1,<base64 of HMAC-SHA256 over "{id}.{timestamp}.{body}">`, keyed with the secret's decoded
//! bytes (the secret is `whsec_` followed by base64 of 32 random bytes).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// [`generate_secret`] behind the domain's port.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSecrets;

impl consultores_domain::SecretSource for RandomSecrets {
    fn generate(&self) -> consultores_domain::WebhookSecret {
        consultores_domain::WebhookSecret::new(generate_secret())
    }
}

/// Why a secret cannot sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the webhook secret is not whsec_ followed by base64")]
pub struct InvalidSecret;

/// The `webhook-signature` header value of a message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, InvalidSecret> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|_| InvalidSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| InvalidSecret)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector published with the specification (and its reference libraries).
    #[test]
    fn signs_the_specification_test_vector() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn another_body_or_timestamp_gives_another_signature() {
        let secret = generate_secret();
        let base = sign(&secret, "msg_1", 1, "{}").unwrap();
        assert_ne!(base, sign(&secret, "msg_1", 2, "{}").unwrap());
        assert_ne!(base, sign(&secret, "msg_1", 1, "{ }").unwrap());
        assert_ne!(base, sign(&secret, "msg_2", 1, "{}").unwrap());
    }

    #[test]
    fn secrets_are_whsec_and_32_random_bytes() {
        let secret = generate_secret();
        let bytes = STANDARD
            .decode(secret.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(bytes.len(), 32);
        assert_ne!(secret, generate_secret());
    }

    #[test]
    fn a_secret_that_is_not_base64_cannot_sign() {
        assert_eq!(sign("whsec_***", "msg", 1, "{}"), Err(InvalidSecret));
    }
}
