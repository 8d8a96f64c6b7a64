#!/bin/sh
# The Temporal server's two schemas (persistence, SQL visibility) applied to databases that exist,
# or brought up to date: the version tables first (idempotent), then every versioned step not yet
# applied, from the schema files built into the tool. Run at every start by `npm run cluster`
# (devstack/cluster.ts) and by temporal-dev.yml's temporal-schema service. The connection comes from
# SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER and SQL_PASSWORD, as the tool reads them.
set -eu
tool="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"
"$tool" --db "${TEMPORAL_DB_NAME:-temporal}" setup-schema -v 0.0
"$tool" --db "${TEMPORAL_DB_NAME:-temporal}" update-schema --schema-name postgresql/v12/temporal
"$tool" --db "${TEMPORAL_VISIBILITY_DB_NAME:-temporal_visibility}" setup-schema -v 0.0
"$tool" --db "${TEMPORAL_VISIBILITY_DB_NAME:-temporal_visibility}" update-schema --schema-name postgresql/v12/visibility
