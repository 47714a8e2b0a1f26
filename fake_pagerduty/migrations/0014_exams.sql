-- The integration exam (issue 20): each exam a sandbox client started (POST /_sandbox/exam), its progress while
-- it runs and its result once graded, so GET /_sandbox/exam/{id} answers after a page reload or a restart.
-- Activity: a reset wipes it.
CREATE TABLE exams (
    id                 TEXT PRIMARY KEY,
    routing_key        TEXT NOT NULL,
    vendor_key         TEXT,
    seed               INTEGER NOT NULL,
    duration_seconds   REAL NOT NULL,
    status             TEXT NOT NULL,        -- running | passed | failed | stopped
    started_at         TEXT NOT NULL,
    finished_at        TEXT,
    since_id           INTEGER NOT NULL,     -- the journal id the exam starts after
    progress           TEXT NOT NULL,        -- JSON: the schedule and how far it got
    result             TEXT                  -- JSON: the checks, once graded
);
CREATE INDEX exams_started ON exams(started_at);
