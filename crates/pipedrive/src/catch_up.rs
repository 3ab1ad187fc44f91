//! Recovering the created deals and leads whose webhook never arrived.
//!
//! Pipedrive counts every non-2xx answer against a webhook: 10 failed first attempts ban it for
//! 30 minutes (its events meanwhile are lost, not queued) and a webhook without a success for
//! 3 days is deleted. So, periodically, [`CatchUp`] lists the deals (`GET /api/v2/deals`) and
//! leads (`GET /api/v1/leads`) created since the latest `create` event received, newest first
//! by `add_time`, and records each as the `create` event its webhook would have delivered, under
//! the same deduplication key (`create:deal:42`): a record already received, or recovered
//! before, is not recorded again, so each is assigned at most once. It also reads the webhooks
//! (`GET /api/v1/webhooks`) and warns when the ones delivering created deals or leads to this
//! service look banned (last delivery not 2xx), inactive or deleted.
//!
//! The listing starts shortly before the latest `create` event received (deal or lead); nothing
//! is recovered before the first event ever received, so a fresh installation does not hand out
//! the company's history.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use consultores_domain::{
    CatchUpRound, Clock, CrmCatchUp, CrmError, CrmEventDecoder, CrmEventInbox, CrmThrottle,
    DomainError,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::PipedriveClient;
use crate::decoder::WebhookDecoder;
use crate::wire::Webhook;

/// A bound on the pages read per list, so one round stays small.
const MAX_PAGES: usize = 20;
/// Records per page.
const PAGE_SIZE: u32 = 100;

/// How often and how far back the catch-up looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatchUpSettings {
    /// The time between two catch-ups.
    pub every: Duration,
    /// How far before the latest event received the listing starts (events and records are
    /// stamped by two clocks, and deliveries arrive late).
    pub margin: Duration,
    /// The furthest back a catch-up ever looks.
    pub max_lookback: Duration,
}

impl CatchUpSettings {
    /// Every 5 minutes, from 10 minutes before the latest event, never more than 7 days back.
    pub const DEFAULT: Self = Self {
        every: Duration::from_secs(300),
        margin: Duration::from_secs(600),
        max_lookback: Duration::from_secs(7 * 24 * 3600),
    };
}

impl Default for CatchUpSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The periodic catch-up (see the module documentation); the domain's [`CrmCatchUp`] port,
/// run by its `WebhookProcessor` before each round.
pub struct CatchUp {
    client: Arc<PipedriveClient>,
    inbox: Arc<dyn CrmEventInbox>,
    throttle: Arc<dyn CrmThrottle>,
    clock: Arc<dyn Clock>,
    /// The basic-auth user of this service's webhooks: how its webhooks are recognised.
    webhook_user: String,
    settings: CatchUpSettings,
    last_run: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for CatchUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatchUp")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CrmCatchUp for CatchUp {
    fn run_if_due(&self) -> Result<CatchUpRound, DomainError> {
        CatchUp::run_if_due(self)
    }
}

impl CatchUp {
    pub fn new(
        client: Arc<PipedriveClient>,
        inbox: Arc<dyn CrmEventInbox>,
        throttle: Arc<dyn CrmThrottle>,
        clock: Arc<dyn Clock>,
        webhook_user: &str,
        settings: CatchUpSettings,
    ) -> Self {
        Self {
            client,
            inbox,
            throttle,
            clock,
            webhook_user: webhook_user.to_owned(),
            settings,
            last_run: Mutex::new(None),
        }
    }

    /// Runs a catch-up when one is due ([`CatchUpSettings::every`] since the last) and Pipedrive
    /// asked for no pause. Store failures end it with the error (it runs again next time).
    pub fn run_if_due(&self) -> Result<CatchUpRound, DomainError> {
        {
            let last = self.last_run.lock().unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < self.settings.every) {
                return Ok(CatchUpRound::default());
            }
        }
        if self.throttle.pause().is_some() {
            return Ok(CatchUpRound::default());
        }
        *self.last_run.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        self.run()
    }

    /// One catch-up, now (the domain's [`CatchUpRound`]: whether it ran, the keys recovered,
    /// the warnings).
    pub fn run(&self) -> Result<CatchUpRound, DomainError> {
        let mut round = CatchUpRound {
            ran: true,
            ..CatchUpRound::default()
        };
        let now = self.clock.now();
        // The latest creation of either kind: one webhook outage loses both.
        let last = self
            .inbox
            .last_received("create", "deal")?
            .max(self.inbox.last_received("create", "lead")?);
        // Nothing before the first event ever received.
        if let Some(last) = last {
            let since = (last - chrono_duration(self.settings.margin))
                .max(now - chrono_duration(self.settings.max_lookback));
            for entity in ["deal", "lead"] {
                let listed = match entity {
                    "deal" => self.created_deals(since),
                    _ => self.created_leads(since),
                };
                match listed {
                    Ok(records) => {
                        for record in records {
                            if let Some(key) = self.recover(entity, record, now)? {
                                round.recovered.push(key);
                            }
                        }
                    }
                    Err(error) => round.warnings.push(format!(
                        "recuperação de {entity}s criados não foi possível: {error}"
                    )),
                }
            }
        }
        match self.client.list_webhooks() {
            Ok(webhooks) => round.warnings.extend(self.webhook_warnings(&webhooks)),
            Err(error) => round.warnings.push(format!(
                "não foi possível ler os webhooks do Pipedrive: {error}"
            )),
        }
        Ok(round)
    }

    /// Records `record` as the `create` event its webhook would have sent; its key when it was
    /// new (not received nor recovered before).
    fn recover(
        &self,
        entity: &str,
        record: Value,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, DomainError> {
        let Some(id) = record.get("id").and_then(id_text) else {
            return Ok(None);
        };
        let payload = json!({
            "meta": {
                "action": "create", "entity": entity, "entity_id": id, "version": "2.0",
                "attempt": 1, "change_source": "recuperacao"
            },
            "data": record,
            "previous": null
        });
        let Ok(event) = WebhookDecoder.decode(payload.to_string().as_bytes()) else {
            return Ok(None);
        };
        Ok(self.inbox.record(&event, now)?.then_some(event.key))
    }

    /// `GET /api/v2/deals`, newest first, while created at or after `since`.
    fn created_deals(&self, since: DateTime<Utc>) -> Result<Vec<Value>, CrmError> {
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.client.url(&["api", "v2", "deals"])?;
            {
                let mut query = url.query_pairs_mut();
                query
                    .append_pair("sort_by", "add_time")
                    .append_pair("sort_direction", "desc")
                    .append_pair("limit", &PAGE_SIZE.to_string());
                if let Some(cursor) = &cursor {
                    query.append_pair("cursor", cursor);
                }
            }
            let envelope = self.client.call(Method::GET, url, None)?;
            let next = envelope
                .additional_data
                .get("next_cursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if take_since(envelope.data, since, &mut found) || next.is_none() {
                break;
            }
            cursor = next;
        }
        Ok(found)
    }

    /// `GET /api/v1/leads`, newest first, while created at or after `since`.
    fn created_leads(&self, since: DateTime<Utc>) -> Result<Vec<Value>, CrmError> {
        let mut found = Vec::new();
        let mut start = 0u64;
        for _ in 0..MAX_PAGES {
            let mut url = self.client.url(&["api", "v1", "leads"])?;
            url.query_pairs_mut()
                .append_pair("sort", "add_time DESC")
                .append_pair("limit", &PAGE_SIZE.to_string())
                .append_pair("start", &start.to_string());
            let envelope = self.client.call(Method::GET, url, None)?;
            let next = envelope.next_start();
            if take_since(envelope.data, since, &mut found) {
                break;
            }
            match next {
                Some(next) if next > start => start = next,
                _ => break,
            }
        }
        Ok(found)
    }

    /// Warnings about this service's webhooks for created deals and leads.
    fn webhook_warnings(&self, webhooks: &[Webhook]) -> Vec<String> {
        let ours: Vec<&Webhook> = webhooks
            .iter()
            .filter(|webhook| webhook.http_auth_user.as_deref() == Some(&self.webhook_user))
            .collect();
        let mut warnings = Vec::new();
        for object in ["deal", "lead"] {
            let covering: Vec<&&Webhook> = ours
                .iter()
                .filter(|webhook| webhook.covers("create", object))
                .collect();
            if covering.is_empty() {
                warnings.push(format!(
                    "nenhum webhook entrega create.{object} a este serviço: foi excluído? (o \
                     Pipedrive exclui um webhook sem sucesso por 3 dias); rode consultores \
                     pipedrive webhook-setup"
                ));
                continue;
            }
            for webhook in covering {
                if !webhook.is_active() {
                    warnings.push(format!(
                        "o webhook {} (create.{object}) está inativo{}; rode consultores \
                         pipedrive webhook-setup",
                        webhook.id,
                        webhook
                            .remove_reason
                            .as_deref()
                            .map(|reason| format!(" ({reason})"))
                            .unwrap_or_default()
                    ));
                } else if let Some(status) =
                    webhook.last_status().filter(|s| !(200..300).contains(s))
                {
                    warnings.push(format!(
                        "a última entrega do webhook {} (create.{object}) recebeu {status}: \
                         10 falhas seguidas banem o webhook por 30 minutos e os eventos se \
                         perdem (a recuperação periódica os busca)",
                        webhook.id
                    ));
                }
            }
        }
        warnings
    }
}

/// Appends the records of a page created at or after `since`; true when the page reached
/// older ones (the listing is newest first: nothing further is needed).
fn take_since(page: Value, since: DateTime<Utc>, found: &mut Vec<Value>) -> bool {
    let Value::Array(records) = page else {
        return true;
    };
    if records.is_empty() {
        return true;
    }
    for record in records {
        match record
            .get("add_time")
            .and_then(Value::as_str)
            .and_then(parse_time)
        {
            Some(added) if added < since => return true,
            Some(_) => found.push(record),
            None => {}
        }
    }
    false
}

/// `2025-03-10T12:00:00Z` (API v2), `2025-03-10T12:00:00.000Z` (leads) or
/// `2025-03-10 12:00:00` (API v1, UTC).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|naive| naive.and_utc())
        })
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_time_formats_of_both_api_versions() {
        let expected = DateTime::parse_from_rfc3339("2025-03-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_time("2025-03-10T12:00:00Z"), Some(expected));
        assert_eq!(parse_time("2025-03-10T12:00:00.000Z"), Some(expected));
        assert_eq!(parse_time("2025-03-10 12:00:00"), Some(expected));
        assert_eq!(parse_time("ontem"), None);
    }

    #[test]
    fn a_page_stops_at_the_first_older_record() {
        let since = parse_time("2025-03-10T12:00:00Z").unwrap();
        let mut found = Vec::new();
        let page = json!([
            {"id": 3, "add_time": "2025-03-10T12:05:00Z"},
            {"id": 2, "add_time": "2025-03-10T12:00:00Z"},
            {"id": 1, "add_time": "2025-03-10T11:59:59Z"},
            {"id": 0, "add_time": "2025-03-10T12:30:00Z"}
        ]);
        assert!(take_since(page, since, &mut found));
        let ids: Vec<i64> = found.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![3, 2]);
        assert!(!take_since(
            json!([{"id": 4, "add_time": "2025-03-11T00:00:00Z"}]),
            since,
            &mut found
        ));
    }
}
