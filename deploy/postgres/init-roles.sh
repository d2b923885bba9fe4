#!/bin/sh
# Runs once, on the first start of an empty data directory (docker-entrypoint-initdb.d), as the superuser.
# The same SQL a DBA runs by hand is in deploy/README.md ("Roles: run once").
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$PGTENANT_OWNER_PASSWORD" -v api_pw="$PGTENANT_API_PASSWORD" <<'SQL'
CREATE ROLE pgtenant_owner LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE PASSWORD :'owner_pw';
CREATE ROLE pgtenant_api LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD :'api_pw';
-- The declared roles (policies.hcl: app, reader). The first migration creates them when missing; creating them
-- here lets the API login be granted them before the migration runs.
CREATE ROLE app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE reader NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
GRANT app, reader TO pgtenant_api;
CREATE DATABASE pgtenant OWNER pgtenant_owner;
REVOKE ALL ON DATABASE pgtenant FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE pgtenant TO pgtenant_api;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname pgtenant <<'SQL'
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
