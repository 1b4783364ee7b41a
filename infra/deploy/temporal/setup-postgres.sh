#!/bin/sh
# One-shot job before the Temporal server starts: creates Temporal's two PostgreSQL databases and
# brings their schemas to the version the admin-tools image ships (the same image tag as the server,
# so schema and server match). Safe to run again: `create` of an existing database and
# `update-schema` at the current version change nothing.
set -eu
: "${POSTGRES_SEEDS:?set POSTGRES_SEEDS to the PostgreSQL host}"
: "${POSTGRES_USER:?set POSTGRES_USER}"
: "${SQL_PASSWORD:?set SQL_PASSWORD to the PostgreSQL password}"
port="${DB_PORT:-5432}"
schema=/etc/temporal/schema/postgresql/v12
sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" "$@"; }
for db in temporal:temporal temporal_visibility:visibility; do
  name="${db%%:*}"
  dir="${db##*:}"
  sql --db "$name" create || true # exists already on a re-run
  sql --db "$name" setup-schema -v 0.0
  sql --db "$name" update-schema -d "$schema/$dir/versioned"
done
echo "Temporal schemas ready in $POSTGRES_SEEDS:$port"
