//! Pipedrive adapter: not built yet (see the README).
