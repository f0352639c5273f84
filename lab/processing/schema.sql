-- The distributed processing queue (runbooks/distributed-processing-queue.md).
CREATE TABLE IF NOT EXISTS schema_version (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS processing_queue (
    id bigserial PRIMARY KEY,
    flow_name text,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    flow_instance_id text,
    claimed_at timestamptz,
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    retry_count integer NOT NULL DEFAULT 0,
    error_message text
);

-- The indexes the collection recommends (Q2 reports any that are missing):
-- workers claim the oldest pending records;
CREATE INDEX IF NOT EXISTS processing_queue_pending_idx
    ON processing_queue (created_at, id) WHERE status = 'pending';
-- orphaned records (Q2, Q4): processing, by claim time;
CREATE INDEX IF NOT EXISTS processing_queue_processing_idx
    ON processing_queue (claimed_at) WHERE status = 'processing';
-- performance windows (Q3): claimed in the last hours;
CREATE INDEX IF NOT EXISTS processing_queue_claimed_idx ON processing_queue (claimed_at);
-- failed records by age (Q3 top errors, Q5 reset, Q6 cleanup);
CREATE INDEX IF NOT EXISTS processing_queue_failed_idx
    ON processing_queue (updated_at) WHERE status = 'failed';
-- completed history by age (Q6 cleanup);
CREATE INDEX IF NOT EXISTS processing_queue_completed_idx
    ON processing_queue (completed_at) WHERE status = 'completed';
-- counts by status (Q1) as index-only scans.
CREATE INDEX IF NOT EXISTS processing_queue_status_idx ON processing_queue (status);

-- One row per record a worker finished: a record processed twice shows up twice.
CREATE TABLE IF NOT EXISTS processed_surveys (
    id bigserial PRIMARY KEY,
    queue_id bigint NOT NULL,
    flow_name text,
    flow_instance_id text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS processed_surveys_queue_idx ON processed_surveys (queue_id);

-- One row per batch a worker ran, with how long its claim took.
CREATE TABLE IF NOT EXISTS flow_execution_logs (
    id bigserial PRIMARY KEY,
    flow_name text NOT NULL,
    flow_instance_id text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    claimed integer NOT NULL,
    completed integer NOT NULL,
    failed integer NOT NULL,
    claim_ms double precision NOT NULL,
    claim_lock_timeouts integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS flow_execution_logs_started_idx ON flow_execution_logs (started_at);

INSERT INTO schema_version (version) VALUES (1) ON CONFLICT DO NOTHING;
