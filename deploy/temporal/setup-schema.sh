#!/bin/sh
# Temporal's two databases and their schema on PostgreSQL. Safe to run on every start:
# temporal-sql-tool's create and setup-schema are no-ops when done, update-schema applies only
# what is missing (so a newer TEMPORAL_ADMINTOOLS_VERSION upgrades the schema).
set -eu
SQL="temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u ${POSTGRES_USER}"
SCHEMA=/etc/temporal/schema/postgresql/v12
for db in temporal temporal_visibility; do
  case $db in temporal) dir=temporal ;; *) dir=visibility ;; esac
  $SQL --db "$db" create
  $SQL --db "$db" setup-schema -v 0.0
  $SQL --db "$db" update-schema -d "$SCHEMA/$dir/versioned"
done
echo "Temporal schema is up to date"
