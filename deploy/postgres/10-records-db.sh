#!/bin/sh
# First start only (the postgres image runs /docker-entrypoint-initdb.d/ on an empty data volume):
# the records database and its own login, so the app never uses the Temporal superuser.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v user="$RECORDS_DB_USER" -v pass="$RECORDS_DB_PASSWORD" -v db="$RECORDS_DB_NAME" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'pass';
CREATE DATABASE :"db" OWNER :"user";
SQL
