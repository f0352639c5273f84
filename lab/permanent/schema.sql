-- Permanent's `record` table (real-systems.md), in the lab's `perm` database.
CREATE TABLE IF NOT EXISTS record (
  recordId       INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  archiveId      INT UNSIGNED NOT NULL,
  displayName    VARCHAR(255) NOT NULL,
  uploadFileName VARCHAR(255) NULL,
  size           BIGINT UNSIGNED NULL,
  status         VARCHAR(64) NOT NULL,
  type           VARCHAR(64) NOT NULL,
  processedDT    DATETIME NULL,
  createdDT      DATETIME NOT NULL,
  updatedDT      DATETIME NOT NULL,
  KEY record_status (status),
  KEY record_createdDT (createdDT)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
