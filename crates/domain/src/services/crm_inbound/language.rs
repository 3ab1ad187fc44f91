//! The language of a created record: the configured custom field (a text value, or an option
//! whose label is the code, read through a cache), else the default language.

use std::collections::HashMap;
use std::sync::PoisonError;
use std::time::Instant;

use super::{Deferral, WebhookProcessor};
use crate::crm::CrmError;
use crate::crm_inbound::{FieldValue, InboundCrmEvent};
use crate::values::Language;

impl WebhookProcessor {
    /// The language of a created record: `Ok(Ok(language))`, `Ok(Err(reason))` when there is
    /// none usable (the event fails), `Err` when the CRM could not be asked (it waits).
    pub(super) fn language_of(
        &self,
        event: &InboundCrmEvent,
    ) -> Result<Result<Language, String>, Deferral> {
        let Some(field) = self.languages.field.as_deref() else {
            return Ok(self.languages.default.clone().ok_or_else(|| {
                "sem idioma: nem PIPEDRIVE_LANGUAGE_FIELD nem PIPEDRIVE_DEFAULT_LANGUAGE estão \
                 configurados"
                    .to_owned()
            }));
        };
        let raw = match event.language.clone() {
            None => {
                return Ok(self.languages.default.clone().ok_or_else(|| {
                    format!(
                        "sem idioma: o campo {field} está vazio e PIPEDRIVE_DEFAULT_LANGUAGE não \
                         está configurado"
                    )
                }))
            }
            Some(FieldValue::Text(text)) => text,
            Some(FieldValue::Option(id)) => match self.option_label(field, id)? {
                Ok(label) => label,
                Err(reason) => return Ok(Err(reason)),
            },
            Some(FieldValue::Options(ids)) => match ids.first() {
                Some(id) => match self.option_label(field, *id)? {
                    Ok(label) => label,
                    Err(reason) => return Ok(Err(reason)),
                },
                None => {
                    return Ok(self.languages.default.clone().ok_or_else(|| {
                        format!("sem idioma: o campo {field} não tem opção marcada")
                    }))
                }
            },
            Some(FieldValue::Other(value)) => {
                return Ok(Err(format!(
                    "o campo {field} não traz um idioma (valor {value})"
                )))
            }
        };
        Ok(Language::parse(&raw)
            .map_err(|problem| format!("idioma inválido no campo {field}: {raw:?} ({problem})")))
    }

    /// The label of option `id` of the language field, from a cache refreshed after the ttl or
    /// when the id is missing (an option added since the last read).
    fn option_label(&self, field: &str, id: i64) -> Result<Result<String, String>, Deferral> {
        let cached = self
            .labels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|(read_at, _)| read_at.elapsed() < self.settings.options_ttl)
            .and_then(|(_, labels)| labels.get(&id).cloned());
        if let Some(label) = cached {
            return Ok(Ok(label));
        }
        if let Some(pause) = self.throttle.as_ref().and_then(|throttle| throttle.pause()) {
            return Err(Deferral(format!(
                "limite de requisições do Pipedrive esgotado; opções do campo {field} lidas \
                 depois da pausa ({} s)",
                pause.as_secs()
            )));
        }
        let options = match self.options.field_options(field) {
            Ok(options) => options,
            Err(CrmError::Transient { reason, .. }) => {
                return Err(Deferral(format!(
                    "não foi possível ler as opções do campo {field}: {reason}"
                )))
            }
            Err(CrmError::Permanent { reason }) => {
                return Ok(Err(format!(
                    "não foi possível ler as opções do campo {field}: {reason}"
                )))
            }
        };
        let labels: HashMap<i64, String> = options
            .into_iter()
            .map(|option| (option.id, option.label))
            .collect();
        let label = labels.get(&id).cloned();
        *self.labels.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), labels));
        Ok(label.ok_or_else(|| format!("a opção {id} não existe no campo {field}")))
    }
}
