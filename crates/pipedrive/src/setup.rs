//! `consultores pipedrive webhook-setup`: makes the company's webhooks to this service exactly
//! the ones it needs, version 2.0 and active.
//!
//! A webhook already registered on the same URL counts only when Pipedrive delivers to it
//! (`is_active`) and it sends v2 payloads: a v1 webhook would deliver payloads the endpoint
//! refuses (422) and an inactive one delivers nothing. Those are deleted and the events they
//! were meant for are registered again, version 2.0, with the configured credentials.

use consultores_domain::CrmError;

use crate::client::PipedriveClient;
use crate::wire::Webhook;

/// The events the service needs: created deals and leads (handed out), their changes (owner
/// changes made by people, merges) and deletes (pending actions cancelled).
pub const WEBHOOK_EVENTS: [(&str, &str); 6] = [
    ("create", "deal"),
    ("create", "lead"),
    ("change", "deal"),
    ("change", "lead"),
    ("delete", "deal"),
    ("delete", "lead"),
];

/// What the setup did, step by step (printed for the operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupStep {
    /// An active v2 webhook on the URL already delivers the event.
    Kept { event: String, webhook: i64 },
    /// A webhook on the URL that could not be used was deleted.
    Removed {
        webhook: i64,
        events: String,
        why: String,
    },
    /// The event was registered.
    Registered { event: String, webhook: i64 },
}

impl std::fmt::Display for SetupStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kept { event, webhook } => {
                write!(
                    f,
                    "{event}: already registered (webhook {webhook}), left as it is"
                )
            }
            Self::Removed {
                webhook,
                events,
                why,
            } => write!(f, "webhook {webhook} ({events}) deleted: {why}"),
            Self::Registered { event, webhook } => {
                write!(f, "{event}: registered (webhook {webhook}, version 2.0)")
            }
        }
    }
}

/// Why a webhook on the service's URL cannot stay, or `None` when it is usable.
fn unusable(webhook: &Webhook) -> Option<String> {
    if !webhook.is_v2() {
        let version = webhook.version.as_deref().unwrap_or("1.0");
        return Some(format!(
            "version {version}, whose payloads the service refuses; replaced by version 2.0"
        ));
    }
    if !webhook.is_active() {
        return Some("inactive: Pipedrive no longer delivers to it; registered again".to_owned());
    }
    None
}

/// Brings the webhooks on `url` to [`WEBHOOK_EVENTS`], active and version 2.0: deletes the
/// unusable ones on that URL (webhooks elsewhere are left alone), keeps the usable ones and
/// registers what is missing. Stops at the first error, with the steps done so far.
pub fn setup_webhooks(
    client: &PipedriveClient,
    url: &str,
    user: &str,
    password: &str,
) -> Result<Vec<SetupStep>, (Vec<SetupStep>, CrmError)> {
    let mut steps = Vec::new();
    let existing = client
        .list_webhooks()
        .map_err(|error| (Vec::new(), error))?;
    let mut usable = Vec::new();
    for webhook in existing
        .into_iter()
        .filter(|webhook| webhook.subscription_url == url)
    {
        match unusable(&webhook) {
            None => usable.push(webhook),
            Some(why) => {
                if let Err(error) = client.delete_webhook(webhook.id) {
                    return Err((steps, error));
                }
                steps.push(SetupStep::Removed {
                    webhook: webhook.id,
                    events: format!("{}.{}", webhook.event_action, webhook.event_object),
                    why,
                });
            }
        }
    }
    for (action, object) in WEBHOOK_EVENTS {
        let event = format!("{action}.{object}");
        if let Some(webhook) = usable.iter().find(|webhook| webhook.covers(action, object)) {
            steps.push(SetupStep::Kept {
                event,
                webhook: webhook.id,
            });
            continue;
        }
        match client.register_webhook(url, user, password, action, object) {
            Ok(webhook) => steps.push(SetupStep::Registered {
                event,
                webhook: webhook.id,
            }),
            Err(error) => return Err((steps, error)),
        }
    }
    Ok(steps)
}
