-- The MySQL/MariaDB read model: one row per stream, written only by TokenLedger's projector.
-- utf8mb4_bin: app ids are case-sensitive ("wxAB" and "wxab" are two apps).
CREATE TABLE IF NOT EXISTS current_tokens (
    project    VARCHAR(128) NOT NULL,
    platform   VARCHAR(128) NOT NULL,
    appid      VARCHAR(128) NOT NULL,
    token      TEXT         NULL,      -- NULL once the token was revoked or the app removed
    expires_at DATETIME(3)  NULL,      -- UTC
    position   BIGINT       NOT NULL,  -- log position of the event this row reflects
    updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (project, platform, appid)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The last log position applied, written in the same transaction as the rows.
CREATE TABLE IF NOT EXISTS tokenledger_checkpoint (
    name       VARCHAR(64)  NOT NULL PRIMARY KEY,
    position   BIGINT       NOT NULL,
    node       VARCHAR(255) NOT NULL,
    updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
