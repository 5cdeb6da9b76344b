-- Why an analysis ended without results (e.g. "skipped: queue full").
ALTER TABLE analyses ADD COLUMN error TEXT;
