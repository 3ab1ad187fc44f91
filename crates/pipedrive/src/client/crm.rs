//! The domain's ports on [`PipedriveClient`]: [`CrmGateway`] (owners, notes, users),
//! [`CrmThrottle`] and [`CrmFieldOptions`], and the checks and escaping of what they send.

use std::time::Duration;

use consultores_domain::{
    CrmError, CrmFieldOption, CrmFieldOptions, CrmGateway, CrmTarget, CrmThrottle, CrmUser,
    PipedriveUserId,
};
use reqwest::Method;
use serde_json::json;

use super::{decode_list, PipedriveClient, MAX_PAGES};
use crate::wire::UserDto;

impl CrmFieldOptions for PipedriveClient {
    /// [`PipedriveClient::field_options`]: the options of a deal field (leads share them).
    fn field_options(&self, key: &str) -> Result<Vec<CrmFieldOption>, CrmError> {
        PipedriveClient::field_options(self, key)
    }
}

impl CrmGateway for PipedriveClient {
    /// `PATCH /api/v2/deals/{id}`, `PATCH /api/v2/persons/{id}` or `PATCH /api/v1/leads/{uuid}`
    /// with `{"owner_id": N}`. Idempotent: repeating it leaves the same owner.
    fn set_owner(&self, target: &CrmTarget, owner: PipedriveUserId) -> Result<(), CrmError> {
        let url = match target {
            CrmTarget::Deal(id) => {
                self.record_url("v2", "deals", &positive(*id, "negócio")?.to_string())?
            }
            CrmTarget::Person(id) => {
                self.record_url("v2", "persons", &positive(*id, "pessoa")?.to_string())?
            }
            // Leads have no v2 update endpoint; v1 PATCH is the current one.
            CrmTarget::Lead(uuid) => self.record_url("v1", "leads", &lead_id(uuid)?)?,
        };
        let body = json!({ "owner_id": owner.get() });
        self.call(Method::PATCH, url, Some(&body)).map(drop)
    }

    /// `POST /api/v1/notes` with `content` and exactly one of `deal_id`, `lead_id`, `person_id`.
    /// The text is HTML-escaped (Pipedrive reads `content` as HTML), so it shows as written.
    /// Not idempotent: a retry after a lost answer may add the note twice.
    fn add_note(&self, target: &CrmTarget, content: &str) -> Result<(), CrmError> {
        self.post_note(target, content, None)
    }

    /// With `PIPEDRIVE_NOTE_AS_CONSULTANT` ([`PipedriveConfig::note_as_consultant`]), the note
    /// carries `user_id`: Pipedrive shows it as written by the consultant (an admin token may
    /// write as any user). Otherwise as [`CrmGateway::add_note`].
    fn add_note_as(
        &self,
        target: &CrmTarget,
        content: &str,
        author: PipedriveUserId,
    ) -> Result<(), CrmError> {
        let author = self.note_as_consultant.then_some(author);
        self.post_note(target, content, author)
    }

    /// `GET /api/v1/users`: every user of the company, active or not. The endpoint is not
    /// documented as paginated; pages are followed anyway should the envelope announce more.
    fn list_users(&self) -> Result<Vec<CrmUser>, CrmError> {
        self.users()
    }
}

impl PipedriveClient {
    fn post_note(
        &self,
        target: &CrmTarget,
        content: &str,
        author: Option<PipedriveUserId>,
    ) -> Result<(), CrmError> {
        let content = plain_text_as_html(content);
        let body = match target {
            CrmTarget::Deal(id) => {
                json!({ "content": content, "deal_id": positive(*id, "negócio")? })
            }
            CrmTarget::Lead(uuid) => json!({ "content": content, "lead_id": lead_id(uuid)? }),
            CrmTarget::Person(id) => {
                json!({ "content": content, "person_id": positive(*id, "pessoa")? })
            }
        };
        let mut body = body;
        if let (Some(author), Some(fields)) = (author, body.as_object_mut()) {
            fields.insert("user_id".to_owned(), json!(author.get()));
        }
        let url = self.url(&["api", "v1", "notes"])?;
        self.call(Method::POST, url, Some(&body)).map(drop)
    }

    fn users(&self) -> Result<Vec<CrmUser>, CrmError> {
        let mut users = Vec::new();
        let mut start = 0u64;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&["api", "v1", "users"])?;
            if start > 0 {
                url.query_pairs_mut()
                    .append_pair("start", &start.to_string());
            }
            let envelope = self.call(Method::GET, url, None)?;
            let next = envelope.next_start();
            let page: Vec<UserDto> = decode_list(envelope.data, "users")?;
            users.extend(page.into_iter().filter_map(UserDto::into_domain));
            match next {
                Some(next) if next > start => start = next,
                _ => break,
            }
        }
        Ok(users)
    }
}

impl CrmThrottle for PipedriveClient {
    /// [`PipedriveClient::pause_remaining`]: the rest of the pause Pipedrive asked for (this
    /// process only; [`crate::SharedPause`] shares it with every replica).
    fn pause(&self) -> Option<Duration> {
        self.pause_remaining()
    }
}

pub(super) fn positive(id: i64, what: &str) -> Result<i64, CrmError> {
    if id > 0 {
        Ok(id)
    } else {
        Err(CrmError::Permanent {
            reason: format!("id de {what} inválido: {id}"),
        })
    }
}

pub(super) fn lead_id(uuid: &str) -> Result<String, CrmError> {
    let uuid = uuid.trim();
    if uuid.is_empty() {
        Err(CrmError::Permanent {
            reason: "id de lead vazio".into(),
        })
    } else {
        Ok(uuid.to_owned())
    }
}

/// Escapes the characters HTML gives meaning to and keeps line breaks visible.
pub(super) fn plain_text_as_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\n' => html.push_str("<br>"),
            '\r' => {}
            other => html.push(other),
        }
    }
    html
}
