//! Newtypes that parse: holding one means the value obeys its rule.

mod description;
mod email;
mod invalid;
mod language;
mod name;
mod phone;
mod pipedrive_user_id;
mod protocol_number;

pub use description::Description;
pub use email::Email;
pub use invalid::InvalidValue;
pub use language::{Language, LanguageList};
pub use name::ConsultantName;
pub use phone::Phone;
pub use pipedrive_user_id::PipedriveUserId;
pub use protocol_number::ProtocolNumber;

pub(crate) use invalid::check_length as check_length_public;
