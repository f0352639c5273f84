-- Dryad's job tables (real-systems.md), in the lab's `dryad` database.
-- delayed_jobs: the delayed_job gem's queue table, as Dryad's migration creates it.
CREATE TABLE IF NOT EXISTS delayed_jobs (
  id         INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  priority   INT NOT NULL DEFAULT 0,
  attempts   INT NOT NULL DEFAULT 0,
  handler    TEXT NOT NULL,
  last_error TEXT NULL,
  run_at     DATETIME NULL,
  locked_at  DATETIME NULL,
  failed_at  DATETIME NULL,
  locked_by  VARCHAR(255) NULL,
  queue      VARCHAR(255) NULL,
  created_at DATETIME NULL,
  updated_at DATETIME NULL,
  KEY delayed_jobs_priority (priority, run_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS stash_engine_zenodo_copies (
  id               INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  state            ENUM('enqueued', 'replicating', 'finished', 'error', 'deferred') DEFAULT 'enqueued',
  deposition_id    INT NULL,
  error_info       TEXT NULL,
  identifier_id    INT NULL,
  resource_id      INT NULL,
  created_at       DATETIME NOT NULL,
  updated_at       DATETIME NOT NULL,
  retries          INT DEFAULT 0,
  copy_type        ENUM('data', 'software', 'software_publish', 'supp', 'supp_publish') DEFAULT 'data',
  software_doi     TEXT NULL,
  conceptrecid     TEXT NULL,
  note             TEXT NULL,
  KEY index_stash_engine_zenodo_copies_on_identifier_id (identifier_id),
  KEY index_stash_engine_zenodo_copies_on_resource_id (resource_id),
  KEY index_stash_engine_zenodo_copies_on_state (state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Merritt submissions: an append-only log; a resource's current state is its highest id.
CREATE TABLE IF NOT EXISTS stash_engine_repo_queue_states (
  id          INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  resource_id INT NULL,
  state       ENUM('rejected_shutting_down', 'enqueued', 'processing', 'completed', 'errored',
                   'provisional_complete') NULL,
  hostname    VARCHAR(191) NULL,
  created_at  DATETIME NOT NULL,
  updated_at  DATETIME NOT NULL,
  KEY index_stash_engine_repo_queue_states_on_resource_id (resource_id),
  KEY index_stash_engine_repo_queue_states_on_state (state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Lab only: what the outside world received (Zenodo deposits, Merritt
-- ingests), one row per delivery, so tests can tell "exactly once" apart
-- from "at least once". No unique key on purpose: a duplicate must show.
CREATE TABLE IF NOT EXISTS lab_zenodo_deposits (
  id          INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  copy_id     INT NOT NULL,
  worker      VARCHAR(255) NOT NULL,
  created_at  DATETIME NOT NULL,
  KEY lab_zenodo_deposits_copy (copy_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS lab_merritt_ingests (
  id          INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  resource_id INT NOT NULL,
  hostname    VARCHAR(191) NOT NULL,
  created_at  DATETIME NOT NULL,
  KEY lab_merritt_ingests_resource (resource_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Lab only: the web app's resources (ids for new datasets).
CREATE TABLE IF NOT EXISTS lab_resources (
  id            INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  identifier_id INT NOT NULL,
  hostname      VARCHAR(191) NOT NULL,
  created_at    DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
