-- Amazon Redshift DDL of the amzn_assets warehouse: the star schema (reviews_fact, users, products,
-- "datetime", stations, climate), the landing ledger (landing_batches, landing_files) and the
-- quarantine of refused records.
--
-- Same tables and columns, in the same order, as sql/postgres/schema.sql and the Arrow schemas of
-- amzn_assets/tables.py (amzn_assets_tests/test_sql_ddl.py checks it).
--
-- Redshift specifics:
--   * PRIMARY KEY, UNIQUE and FOREIGN KEY constraints are informational only: Redshift does NOT
--     enforce them (the planner uses them; declaring a key that is violated gives wrong results).
--     The loads keep them true: a fact partition is replaced whole (DELETE + INSERT in one
--     transaction), a dimension partition is merged by key. Redshift has no DEFERRABLE.
--   * No indexes; distribution and sort keys instead.
--   * text -> VARCHAR(n). n counts BYTES (UTF-8), not characters; 65535 is the maximum. Loads
--     should truncate longer values (COPY ... TRUNCATECOLUMNS) rather than fail.
--   * Types: date32 -> DATE, timestamp[s, UTC] -> TIMESTAMPTZ, int8/int16 -> SMALLINT,
--     int32 -> INTEGER, int64 -> BIGINT, float64 -> DOUBLE PRECISION, bool -> BOOLEAN.

-- ---------------------------------------------------------------------------------------------------
-- Dimensions. A dimension partition D holds the entities seen on day D (seen_date = D); the table is
-- their upsert by primary key, the latest partition winning.
-- ---------------------------------------------------------------------------------------------------

-- One row per calendar day: a few thousand rows, replicated to every node.
CREATE TABLE IF NOT EXISTS "datetime" (
    "date"       DATE     NOT NULL,
    year         SMALLINT,
    month        SMALLINT,
    day          SMALLINT,
    day_of_week  SMALLINT,  -- ISO: 1 = Monday .. 7 = Sunday
    week         SMALLINT,  -- ISO week number
    day_of_year  SMALLINT,
    PRIMARY KEY ("date")
)
DISTSTYLE ALL
SORTKEY ("date");

-- users: DISTSTYLE KEY on reviewer_id, not ALL. Over the full corpus there are millions of reviewers;
-- ALL would store the whole table on every node and multiply the cost of every upsert. Facts are
-- distributed on asin (product joins are the common case), so a fact-users join redistributes one side
-- either way; keying users on reviewer_id keeps that a single hash redistribution of the join input
-- and makes per-reviewer queries node-local.
CREATE TABLE IF NOT EXISTS users (
    reviewer_id    VARCHAR(64)  NOT NULL,
    reviewer_name  VARCHAR(512),
    seen_date      DATE,
    PRIMARY KEY (reviewer_id)
)
DISTSTYLE KEY
DISTKEY (reviewer_id)
SORTKEY (reviewer_id);

-- products: co-located with reviews_fact on asin, so the fact-products join is node-local.
CREATE TABLE IF NOT EXISTS products (
    asin           VARCHAR(32)   NOT NULL,
    title          VARCHAR(4096),
    brand          VARCHAR(512),
    price          DOUBLE PRECISION,  -- USD
    main_cat       VARCHAR(1024),     -- some metadata files put an HTML <img> tag here
    category       VARCHAR(512),      -- most specific category of the path
    category_path  VARCHAR(4096),     -- 'A > B > C'
    sales_rank     BIGINT,
    rank_category  VARCHAR(512),
    features       VARCHAR(65535),    -- one feature per line
    description    VARCHAR(65535),
    has_metadata   BOOLEAN,           -- false: the product is only known from its reviews
    seen_date      DATE,
    PRIMARY KEY (asin)
)
DISTSTYLE KEY
DISTKEY (asin)
SORTKEY (asin);

-- stations: ~120k rows at most (the whole GHCN-Daily station list), replicated to every node.
CREATE TABLE IF NOT EXISTS stations (
    station_id       VARCHAR(32)  NOT NULL,  -- GHCN-Daily id, e.g. USW00025333
    latitude         DOUBLE PRECISION,
    longitude        DOUBLE PRECISION,
    elevation        DOUBLE PRECISION,       -- metres; null where the source says -999.9
    state            VARCHAR(8),
    name             VARCHAR(256),
    gsn_flag         VARCHAR(8),
    hcn_crn_flag     VARCHAR(8),
    wmo_id           VARCHAR(16),
    in_station_list  BOOLEAN,                -- false: only known from climate records
    seen_date        DATE,
    PRIMARY KEY (station_id)
)
DISTSTYLE ALL
SORTKEY (station_id);

-- ---------------------------------------------------------------------------------------------------
-- Facts. A fact partition D (review_date = D, resp. date = D) is replaced whole.
-- ---------------------------------------------------------------------------------------------------

-- One row per review, keyed by its content key review_id (docs/data-model.md). The column is last so
-- that the one migration Redshift allows, ALTER TABLE ... ADD COLUMN (which appends), gives the
-- same column order as this CREATE: COPY ... FORMAT AS PARQUET maps columns by position. A table
-- created before review_id is best dropped and re-materialized: its rows were merged by the old
-- key (asin, reviewer_id, review_time), and Redshift cannot recompute review_id from values COPY
-- truncated to the VARCHAR widths. total_votes stands beside vote, as in the Arrow schema: a table
-- created before it has one column fewer, and COPY refuses its loads (column count) until it is
-- dropped and re-materialized (docs/redshift.md).
CREATE TABLE IF NOT EXISTS reviews_fact (
    review_date  DATE          NOT NULL,
    review_time  TIMESTAMPTZ   NOT NULL,
    asin         VARCHAR(32)   NOT NULL,
    reviewer_id  VARCHAR(64)   NOT NULL,
    category     VARCHAR(512),
    rating       SMALLINT,        -- 1 .. 5 stars
    verified     BOOLEAN,
    vote         INTEGER,         -- helpful votes
    total_votes  INTEGER,         -- 2014 records: all votes ("helpful"[1]); null for 2018 ones
    style        VARCHAR(4096),   -- JSON object text
    summary      VARCHAR(4096),
    review_text  VARCHAR(65535),
    image_count  SMALLINT,
    review_id    VARCHAR(32)   NOT NULL,  -- 32 hex digits
    PRIMARY KEY (review_date, review_id),
    FOREIGN KEY (reviewer_id) REFERENCES users (reviewer_id),
    FOREIGN KEY (asin) REFERENCES products (asin),
    FOREIGN KEY (review_date) REFERENCES "datetime" ("date")
)
DISTSTYLE KEY
DISTKEY (asin)
SORTKEY (review_time);

-- One row per station and day; values as NOAA CDO 'standard' units: degrees F, inches, mph.
-- DISTSTYLE EVEN: queries aggregate climate per date before joining it to the facts, no join key
-- to co-locate on.
CREATE TABLE IF NOT EXISTS climate (
    station_id  VARCHAR(32)  NOT NULL,
    "date"      DATE         NOT NULL,
    awnd        DOUBLE PRECISION,  -- average daily wind speed, mph
    prcp        DOUBLE PRECISION,  -- precipitation, inches
    snow        DOUBLE PRECISION,  -- snowfall, inches
    snwd        DOUBLE PRECISION,  -- snow depth, inches
    tavg        DOUBLE PRECISION,  -- average temperature, degrees F
    tmax        DOUBLE PRECISION,  -- maximum temperature, degrees F
    tmin        DOUBLE PRECISION,  -- minimum temperature, degrees F
    wt01        BOOLEAN,  -- fog, ice fog or freezing fog
    wt02        BOOLEAN,  -- heavy fog or heavy freezing fog
    wt03        BOOLEAN,  -- thunder
    wt04        BOOLEAN,  -- ice pellets, sleet, snow pellets or small hail
    wt05        BOOLEAN,  -- hail
    wt06        BOOLEAN,  -- glaze or rime
    wt07        BOOLEAN,  -- dust, volcanic ash, blowing dust, sand or obstruction
    wt08        BOOLEAN,  -- smoke or haze
    wt09        BOOLEAN,  -- blowing or drifting snow
    wt10        BOOLEAN,  -- tornado, waterspout or funnel cloud
    wt11        BOOLEAN,  -- high or damaging winds
    wt13        BOOLEAN,  -- mist
    wt14        BOOLEAN,  -- drizzle
    wt15        BOOLEAN,  -- freezing drizzle
    wt16        BOOLEAN,  -- rain
    wt17        BOOLEAN,  -- freezing rain
    wt18        BOOLEAN,  -- snow, snow pellets, snow grains or ice crystals
    wt19        BOOLEAN,  -- unknown source of precipitation
    wt21        BOOLEAN,  -- ground fog
    wt22        BOOLEAN,  -- ice fog or freezing fog
    PRIMARY KEY ("date", station_id),
    FOREIGN KEY (station_id) REFERENCES stations (station_id),
    FOREIGN KEY ("date") REFERENCES "datetime" ("date")
)
DISTSTYLE EVEN
SORTKEY ("date");

-- ---------------------------------------------------------------------------------------------------
-- Reference data, not partitioned, replaced whole (DELETE + COPY) when a station list (product
-- metadata) lands: every landed entity, whether or not a fact names it (docs/data-model.md).
-- Same columns, widths and distribution as stations (products).
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS station_list (
    station_id    VARCHAR(32)  NOT NULL,
    latitude      DOUBLE PRECISION,
    longitude     DOUBLE PRECISION,
    elevation     DOUBLE PRECISION,  -- metres; null where the source says -999.9
    state         VARCHAR(8),
    name          VARCHAR(256),
    gsn_flag      VARCHAR(8),
    hcn_crn_flag  VARCHAR(8),
    wmo_id        VARCHAR(16),
    PRIMARY KEY (station_id)
)
DISTSTYLE ALL
SORTKEY (station_id);

CREATE TABLE IF NOT EXISTS product_catalog (
    asin           VARCHAR(32)   NOT NULL,
    title          VARCHAR(4096),
    brand          VARCHAR(512),
    price          DOUBLE PRECISION,  -- USD
    main_cat       VARCHAR(1024),
    category       VARCHAR(512),
    category_path  VARCHAR(4096),
    sales_rank     BIGINT,
    rank_category  VARCHAR(512),
    features       VARCHAR(65535),
    description    VARCHAR(65535),
    PRIMARY KEY (asin)
)
DISTSTYLE KEY
DISTKEY (asin)
SORTKEY (asin);

-- ---------------------------------------------------------------------------------------------------
-- Analysis tables (see sql/postgres/schema.sql): monthly partitions, `month` the month's first day.
-- Small: even distribution, sorted by month.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS product_popularity (
    month             DATE         NOT NULL,
    category          VARCHAR(512) NOT NULL,
    asin              VARCHAR(32)  NOT NULL,
    title             VARCHAR(4096),
    reviews           INTEGER,
    mean_rating       DOUBLE PRECISION,
    positive_share    DOUBLE PRECISION,
    wilson_lower      DOUBLE PRECISION,
    category_rank     INTEGER,
    previous_reviews  INTEGER,
    reviews_change    INTEGER,
    previous_rank     INTEGER,
    rank_change       INTEGER,
    PRIMARY KEY (month, category, asin)
)
DISTSTYLE EVEN
SORTKEY (month);

CREATE TABLE IF NOT EXISTS category_trends (
    month            DATE         NOT NULL,
    review_date      DATE         NOT NULL,
    category         VARCHAR(512) NOT NULL,
    reviews          INTEGER,
    mean_rating      DOUBLE PRECISION,
    stars_1         INTEGER,
    stars_2         INTEGER,
    stars_3         INTEGER,
    stars_4         INTEGER,
    stars_5         INTEGER,
    PRIMARY KEY (month, review_date, category)
)
DISTSTYLE EVEN
SORTKEY (month);

CREATE TABLE IF NOT EXISTS weather_effect (
    month        DATE         NOT NULL,
    review_date  DATE         NOT NULL,
    category     VARCHAR(512) NOT NULL,
    reviews      INTEGER,
    stations     INTEGER,
    tmax_mean    DOUBLE PRECISION,
    tmin_mean    DOUBLE PRECISION,
    prcp_mean    DOUBLE PRECISION,
    PRIMARY KEY (month, review_date, category)
)
DISTSTYLE EVEN
SORTKEY (month);

CREATE TABLE IF NOT EXISTS weather_correlation (
    month              DATE         NOT NULL,
    category           VARCHAR(512) NOT NULL,
    days               INTEGER,
    tmax_days          INTEGER,
    reviews_tmax_corr  DOUBLE PRECISION,
    tmin_days          INTEGER,
    reviews_tmin_corr  DOUBLE PRECISION,
    prcp_days          INTEGER,
    reviews_prcp_corr  DOUBLE PRECISION,
    PRIMARY KEY (month, category)
)
DISTSTYLE EVEN
SORTKEY (month);

-- ---------------------------------------------------------------------------------------------------
-- Landing ledger and quarantine (see sql/postgres/schema.sql for the statuses).
--   landing_batches.status: open -> committed (an open batch found at start-up is rolled back).
--   landing_files.status (written at commit): landed | quarantined | duplicate.
-- IDENTITY(1, 1) replaces bigserial (values are unique but not gap-free nor strictly in insert
-- order). Redshift has no partial (or any) index: "one landed file per kind and
-- sha256" is enforced by the landing code, not by the database.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS landing_batches (
    batch_id        VARCHAR(64)   NOT NULL,
    kind            VARCHAR(32)   NOT NULL,
    status          VARCHAR(16)   NOT NULL,  -- open | committed | rolled back
    file_count      INTEGER       DEFAULT 0 NOT NULL,
    row_count       BIGINT        DEFAULT 0 NOT NULL,
    rejected_count  INTEGER       DEFAULT 0 NOT NULL,
    created_at      TIMESTAMPTZ   NOT NULL,
    committed_at    TIMESTAMPTZ,
    PRIMARY KEY (batch_id)
)
DISTSTYLE ALL;

CREATE TABLE IF NOT EXISTS landing_files (
    file_id        BIGINT IDENTITY(1, 1) NOT NULL,
    path           VARCHAR(1024)  NOT NULL,
    size_bytes     BIGINT         NOT NULL,
    mtime_ns       BIGINT         NOT NULL,
    sha256         VARCHAR(64)    NOT NULL,
    kind           VARCHAR(32)    NOT NULL,
    category       VARCHAR(512),
    batch_id       VARCHAR(64)    NOT NULL,
    status         VARCHAR(16)    NOT NULL,  -- landed | quarantined | duplicate
    partitions     VARCHAR(65535),
    error          VARCHAR(65535),
    archived_path  VARCHAR(1024),
    landed_at      TIMESTAMPTZ,
    PRIMARY KEY (file_id),
    FOREIGN KEY (batch_id) REFERENCES landing_batches (batch_id)
)
DISTSTYLE ALL
SORTKEY (status);

CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id  BIGINT IDENTITY(1, 1) NOT NULL,
    batch_id       VARCHAR(64),
    kind           VARCHAR(32)     NOT NULL,
    source         VARCHAR(1024)   NOT NULL,
    line           INTEGER,
    reason         VARCHAR(4096)   NOT NULL,
    record         VARCHAR(65535),  -- excerpt of the refused record (at most 4000 characters)
    created_at     TIMESTAMPTZ     NOT NULL,
    PRIMARY KEY (quarantine_id)
)
DISTSTYLE EVEN
SORTKEY (batch_id);

-- How far each consumer has applied committed batches (see sql/postgres/schema.sql).
CREATE TABLE IF NOT EXISTS landing_applied (
    consumer    VARCHAR(64)  NOT NULL,
    batch_id    VARCHAR(64)  NOT NULL,
    applied_at  TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (consumer)
)
DISTSTYLE ALL;
