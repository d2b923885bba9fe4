#!/bin/sh
# First start of the Citus coordinator (docker-compose.citus.yml), after postgres/init-roles.sh: the citus
# extension in the pgtenant database. The workers get it from the citus image in their default database, which
# docker-compose.citus.yml names pgtenant too.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname pgtenant -c "CREATE EXTENSION IF NOT EXISTS citus"
