#!/bin/sh
# Run once by the postgres image when its data volume is empty (/docker-entrypoint-initdb.d/):
# the image creates $POSTGRES_DB (the warehouse, "amzn"); this adds the Dagster instance's
# database, $DAGSTER_PG_DB, owned by the same user, unless it is the same database.
set -eu
if [ -n "${DAGSTER_PG_DB:-}" ] && [ "$DAGSTER_PG_DB" != "$POSTGRES_DB" ]; then
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        -c "CREATE DATABASE \"$DAGSTER_PG_DB\" OWNER \"$POSTGRES_USER\""
fi
