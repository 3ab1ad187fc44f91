-- The default zone (DEFAULT_TIME_ZONE) the service last evaluated availability with; NULL until
-- a service records it. At start-up a service whose configured zone differs records its own
-- (crates/persistence/src/availability_upkeep.rs).
ALTER TABLE controle_protocolo ADD COLUMN fuso_padrao TEXT;
