//! Reading raw inputs (body, query string, path, headers) the way pydantic's lax mode does, and
//! recording every wire-level failure as a [`crate::validation::FieldError`].

pub mod body;
pub mod fields;
pub mod lax;
pub mod path;
pub mod query;

pub use body::JsonBody;
pub use fields::{ObjectReader, Presence, Slot};
pub use query::QueryParams;
