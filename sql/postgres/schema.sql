-- PostgreSQL DDL of the amzn_assets warehouse: the star schema (reviews_fact, users, products,
-- "datetime", stations, climate), the landing ledger (landing_batches, landing_files) and the
-- quarantine of refused records.
--
-- The star tables mirror the Arrow schemas of amzn_assets/tables.py column for column, in the same
-- order (amzn_assets_tests/test_sql_ddl.py checks it); primary keys are the TableSpec keys.
-- Type map: string -> text, date32 -> date, timestamp[s, UTC] -> timestamptz, int8/int16 -> smallint,
-- int32 -> integer, int64 -> bigint, float64 -> double precision, bool -> boolean.
--
-- Idempotent: every statement is IF NOT EXISTS (the one migration, a DO block, checks first), the
-- file can be applied any number of times.
-- Foreign keys are DEFERRABLE INITIALLY DEFERRED: a partition load replaces the fact rows of a day and
-- upserts the dimension rows of that day in one transaction, in whatever order; the references are
-- checked at commit.
--
-- "datetime" and "date" are valid identifiers in PostgreSQL; they are quoted anyway.

-- ---------------------------------------------------------------------------------------------------
-- Dimensions. A dimension partition D holds the entities seen on day D (seen_date = D); the table is
-- their upsert by primary key, the latest partition winning.
-- ---------------------------------------------------------------------------------------------------

-- One row per calendar day (partition column and key: date).
CREATE TABLE IF NOT EXISTS "datetime" (
    "date"       date     NOT NULL,
    year         smallint,
    month        smallint,
    day          smallint,
    day_of_week  smallint,  -- ISO: 1 = Monday .. 7 = Sunday
    week         smallint,  -- ISO week number
    day_of_year  smallint,
    CONSTRAINT datetime_pkey PRIMARY KEY ("date")
);

CREATE TABLE IF NOT EXISTS users (
    reviewer_id    text NOT NULL,
    reviewer_name  text,
    seen_date      date,
    CONSTRAINT users_pkey PRIMARY KEY (reviewer_id)
);

CREATE TABLE IF NOT EXISTS products (
    asin           text NOT NULL,
    title          text,
    brand          text,
    price          double precision,  -- USD
    main_cat       text,
    category       text,              -- most specific category of the path
    category_path  text,              -- 'A > B > C'
    sales_rank     bigint,
    rank_category  text,
    features       text,              -- one feature per line
    description    text,
    has_metadata   boolean,           -- false: the product is only known from its reviews
    seen_date      date,
    CONSTRAINT products_pkey PRIMARY KEY (asin)
);

CREATE TABLE IF NOT EXISTS stations (
    station_id       text NOT NULL,   -- GHCN-Daily id, e.g. USW00025333
    latitude         double precision,
    longitude        double precision,
    elevation        double precision,  -- metres; null where the source says -999.9
    state            text,
    name             text,
    gsn_flag         text,
    hcn_crn_flag     text,
    wmo_id           text,
    in_station_list  boolean,          -- false: only known from climate records
    seen_date        date,
    CONSTRAINT stations_pkey PRIMARY KEY (station_id)
);

-- ---------------------------------------------------------------------------------------------------
-- Facts. A fact partition D (review_date = D, resp. date = D) is replaced whole.
-- ---------------------------------------------------------------------------------------------------

-- One row per review. review_id is the review's content key: the md5 of reviewer_id, asin,
-- review_time, style, rating, summary and review_text (docs/data-model.md gives the recipe; the
-- migration below computes it in SQL). Records equal in all seven are one review; one reviewer's
-- reviews of two variants of a product on one day are two.
CREATE TABLE IF NOT EXISTS reviews_fact (
    review_date  date        NOT NULL,
    review_time  timestamptz NOT NULL,
    asin         text        NOT NULL,
    reviewer_id  text        NOT NULL,
    category     text,
    rating       smallint,   -- 1 .. 5 stars
    verified     boolean,
    vote         integer,    -- helpful votes
    total_votes  integer,    -- 2014 records: all votes, helpful or not ("helpful"[1]); null for 2018 ones
    style        text,       -- JSON object text
    summary      text,
    review_text  text,
    image_count  smallint,
    review_id    text        NOT NULL,  -- 32 hex digits
    -- review_date (derived from review_time) leads the key so loads of date-sorted partitions
    -- append to the index and a range delete uses it.
    CONSTRAINT reviews_fact_pkey PRIMARY KEY (review_date, review_id)
    -- References (reviewer_id -> users, asin -> products, review_date -> "datetime") are checked by
    -- the loader in the load's own transaction, one anti-join per dimension (amzn_assets.tables
    -- TableSpec.references): per-row foreign-key triggers took 60% of a fact load's time.
);

-- Migration of a reviews_fact created before review_id (keyed (review_date, asin, reviewer_id,
-- review_time)): add the column last, as the CREATE above has it, compute it for the rows there,
-- re-key. Runs once; afterwards the guard finds the column. Re-materializing the review days then
-- loads the reviews the old key had merged.
DO $migrate_review_id$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'reviews_fact' AND column_name = 'review_id'
    ) THEN
        ALTER TABLE reviews_fact ADD COLUMN review_id text;
        UPDATE reviews_fact SET review_id = MD5(
            COALESCE(CAST(LENGTH(reviewer_id) AS VARCHAR) || ':' || reviewer_id, '-')
            || COALESCE(CAST(LENGTH(asin) AS VARCHAR) || ':' || asin, '-')
            || COALESCE(CAST(LENGTH(CAST(CAST(EXTRACT(EPOCH FROM review_time) AS BIGINT) AS VARCHAR)) AS VARCHAR) || ':' || CAST(CAST(EXTRACT(EPOCH FROM review_time) AS BIGINT) AS VARCHAR), '-')
            || COALESCE(CAST(LENGTH(style) AS VARCHAR) || ':' || style, '-')
            || COALESCE(CAST(LENGTH(CAST(rating AS VARCHAR)) AS VARCHAR) || ':' || CAST(rating AS VARCHAR), '-')
            || COALESCE(CAST(LENGTH(summary) AS VARCHAR) || ':' || summary, '-')
            || COALESCE(CAST(LENGTH(review_text) AS VARCHAR) || ':' || review_text, '-')
        );
        ALTER TABLE reviews_fact ALTER COLUMN review_id SET NOT NULL;
        ALTER TABLE reviews_fact DROP CONSTRAINT reviews_fact_pkey;
        ALTER TABLE reviews_fact ADD CONSTRAINT reviews_fact_pkey PRIMARY KEY (review_date, review_id);
    END IF;
END
$migrate_review_id$;

-- A reviews_fact created before total_votes gets it (appended: the loader's COPY names its columns).
-- Its rows keep null there until their days are re-materialized from the landed segments.
ALTER TABLE reviews_fact ADD COLUMN IF NOT EXISTS total_votes integer;

CREATE INDEX IF NOT EXISTS reviews_fact_asin_idx ON reviews_fact (asin);

-- One row per station and day; values as NOAA CDO 'standard' units: degrees F, inches, mph.
CREATE TABLE IF NOT EXISTS climate (
    station_id  text NOT NULL,
    "date"      date NOT NULL,
    awnd        double precision,  -- average daily wind speed, mph
    prcp        double precision,  -- precipitation, inches
    snow        double precision,  -- snowfall, inches
    snwd        double precision,  -- snow depth, inches
    tavg        double precision,  -- average temperature, degrees F
    tmax        double precision,  -- maximum temperature, degrees F
    tmin        double precision,  -- minimum temperature, degrees F
    wt01        boolean,  -- fog, ice fog or freezing fog
    wt02        boolean,  -- heavy fog or heavy freezing fog
    wt03        boolean,  -- thunder
    wt04        boolean,  -- ice pellets, sleet, snow pellets or small hail
    wt05        boolean,  -- hail
    wt06        boolean,  -- glaze or rime
    wt07        boolean,  -- dust, volcanic ash, blowing dust, sand or obstruction
    wt08        boolean,  -- smoke or haze
    wt09        boolean,  -- blowing or drifting snow
    wt10        boolean,  -- tornado, waterspout or funnel cloud
    wt11        boolean,  -- high or damaging winds
    wt13        boolean,  -- mist
    wt14        boolean,  -- drizzle
    wt15        boolean,  -- freezing drizzle
    wt16        boolean,  -- rain
    wt17        boolean,  -- freezing rain
    wt18        boolean,  -- snow, snow pellets, snow grains or ice crystals
    wt19        boolean,  -- unknown source of precipitation
    wt21        boolean,  -- ground fog
    wt22        boolean,  -- ice fog or freezing fog
    CONSTRAINT climate_pkey PRIMARY KEY ("date", station_id)
    -- References (station_id -> stations, "date" -> "datetime") are checked by the loader, as above.
);

-- ---------------------------------------------------------------------------------------------------
-- Reference data, not partitioned, replaced whole when a station list (product metadata) lands: every
-- landed entity, whether or not a fact names it. `amzn-assets query` shows stations (products) as the
-- daily dimension plus the entities here that it lacks (docs/data-model.md).
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS station_list (
    station_id    text NOT NULL,
    latitude      double precision,
    longitude     double precision,
    elevation     double precision,  -- metres; null where the source says -999.9
    state         text,
    name          text,
    gsn_flag      text,
    hcn_crn_flag  text,
    wmo_id        text,
    CONSTRAINT station_list_pkey PRIMARY KEY (station_id)
);

CREATE TABLE IF NOT EXISTS product_catalog (
    asin           text NOT NULL,
    title          text,
    brand          text,
    price          double precision,  -- USD
    main_cat       text,
    category       text,
    category_path  text,
    sales_rank     bigint,
    rank_category  text,
    features       text,
    description    text,
    CONSTRAINT product_catalog_pkey PRIMARY KEY (asin)
);

-- ---------------------------------------------------------------------------------------------------
-- Analysis tables (amzn_assets/analysis, docs/data-model.md): monthly partitions, `month` the month's
-- first day; a month is replaced whole. Derived from the tables above, so no references are declared.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS product_popularity (
    month             date NOT NULL,
    category          text NOT NULL,
    asin              text NOT NULL,
    title             text,
    reviews           integer,
    mean_rating       double precision,
    positive_share    double precision,  -- share of 4-5 star reviews
    wilson_lower      double precision,  -- Wilson 95% lower bound of positive_share
    category_rank     integer,
    previous_reviews  integer,
    reviews_change    integer,
    previous_rank     integer,
    rank_change       integer,
    CONSTRAINT product_popularity_pkey PRIMARY KEY (month, category, asin)
);

CREATE TABLE IF NOT EXISTS category_trends (
    month            date NOT NULL,
    review_date      date NOT NULL,
    category         text NOT NULL,
    reviews          integer,
    mean_rating      double precision,
    stars_1         integer,
    stars_2         integer,
    stars_3         integer,
    stars_4         integer,
    stars_5         integer,
    CONSTRAINT category_trends_pkey PRIMARY KEY (month, review_date, category)
);

CREATE TABLE IF NOT EXISTS weather_effect (
    month        date NOT NULL,
    review_date  date NOT NULL,
    category     text NOT NULL,
    reviews      integer,
    stations     integer,
    tmax_mean    double precision,  -- degrees F, mean over the stations that reported
    tmin_mean    double precision,  -- degrees F
    prcp_mean    double precision,  -- inches
    CONSTRAINT weather_effect_pkey PRIMARY KEY (month, review_date, category)
);

CREATE TABLE IF NOT EXISTS weather_correlation (
    month              date NOT NULL,
    category           text NOT NULL,
    days               integer,
    tmax_days          integer,
    reviews_tmax_corr  double precision,
    tmin_days          integer,
    reviews_tmin_corr  double precision,
    prcp_days          integer,
    reviews_prcp_corr  double precision,
    CONSTRAINT weather_correlation_pkey PRIMARY KEY (month, category)
);


-- ---------------------------------------------------------------------------------------------------
-- Landing ledger (written by the landing code through SQLAlchemy).
--
-- landing_batches.status: 'open' while a batch writes its segments -> 'committed' in the one
--   transaction that also inserts the batch's landing_files and quarantine rows. An 'open' batch found
--   at start-up (a crash) is rolled back by recovery: its segments are deleted, its row removed, and its
--   files, still in the upload area, land again. See docs/landing.md.
-- landing_files rows are written at commit, with a final status: 'landed' (its rows are in the
--   partitions listed in `partitions`), 'quarantined' (nothing valid in it; the reason in `error`) or
--   'duplicate' (same kind and sha256 as a file already landed). archived_path is where the source
--   file is moved (data/raw/..., data/quarantine/...) right after the commit.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS landing_batches (
    batch_id        text        PRIMARY KEY,
    kind            text        NOT NULL,  -- the source kind, e.g. reviews, products, stations, climate
    status          text        NOT NULL,  -- open | committed
    file_count      integer     NOT NULL DEFAULT 0,
    row_count       bigint      NOT NULL DEFAULT 0,
    rejected_count  integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    committed_at    timestamptz
);

CREATE TABLE IF NOT EXISTS landing_files (
    file_id        bigserial   PRIMARY KEY,
    path           text        NOT NULL,
    size_bytes     bigint      NOT NULL,
    mtime_ns       bigint      NOT NULL,
    sha256         text        NOT NULL,
    kind           text        NOT NULL,
    category       text,
    batch_id       text        NOT NULL REFERENCES landing_batches (batch_id),
    status         text        NOT NULL,  -- landed | quarantined | duplicate
    partitions     text,                  -- the landed partitions the file contributed to
    error          text,
    archived_path  text,
    landed_at      timestamptz
);

-- At most one file of a given kind and content (sha256) is landed; a second copy is recorded as
-- 'duplicate'. A commit that would break this fails and its batch is rolled back.
CREATE UNIQUE INDEX IF NOT EXISTS landing_files_live_sha256_uq
    ON landing_files (kind, sha256) WHERE status = 'landed';
CREATE INDEX IF NOT EXISTS landing_files_sha256_idx ON landing_files (sha256);
CREATE INDEX IF NOT EXISTS landing_files_batch_idx ON landing_files (batch_id);
CREATE INDEX IF NOT EXISTS landing_files_status_idx ON landing_files (status);
CREATE INDEX IF NOT EXISTS landing_files_path_idx ON landing_files (path);

-- Records (or whole files, line null) refused by the parsers, with the reason and an excerpt.
CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id  bigserial   PRIMARY KEY,
    batch_id       text,
    kind           text        NOT NULL,
    source         text        NOT NULL,  -- file path, relative to the data directory where possible
    line           integer,               -- 1-based line in the decompressed file; null: whole file
    reason         text        NOT NULL,
    record         text,                  -- excerpt of the refused record
    created_at     timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS quarantine_batch_id_idx ON quarantine (batch_id);

-- How far each consumer (the stream job: 'warehouse') has applied committed batches: it materializes
-- the days fed by the batches after batch_id, then moves it. Batches commit in batch_id order.
CREATE TABLE IF NOT EXISTS landing_applied (
    consumer    text        PRIMARY KEY,
    batch_id    text        NOT NULL,
    applied_at  timestamptz NOT NULL
);
