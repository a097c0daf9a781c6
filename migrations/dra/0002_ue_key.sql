-- Binding creation atomic per UE (issue 10 §5): every binding has a key unique in the store,
-- the one its first establishment named (UeKeys::binding_key: NAI and APN, else IPv4 and APN,
-- else IPv6 prefix and APN, else its Session-Id). A DRA inserts with ON CONFLICT (ue_key) DO
-- NOTHING and, when another DRA of the mated pair won, joins that binding: two first
-- establishments of one IP-CAN session at once make one binding. Bindings made before this
-- migration get a key of their own (their binding id), so no existing pair can collide.
ALTER TABLE dra_bindings ADD COLUMN ue_key TEXT NOT NULL DEFAULT '';
UPDATE dra_bindings SET ue_key = 'binding:' || binding_id;
CREATE UNIQUE INDEX dra_bindings_ue_key ON dra_bindings (ue_key);
