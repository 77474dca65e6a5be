#!/usr/bin/env bash
# One PostgreSQL node of the formation, under systemd (deploy/ha/README.md). Run as root on db1,
# then on db2: the first becomes the primary, the second its synchronous standby.
set -euo pipefail
: "${MONITOR_URL:?postgres://autoctl_node@<monitor>:5432/pg_auto_failover?sslmode=require}"
: "${NODE_HOST:?this node's host name}"
: "${NODE_NAME:?db1 or db2}"
PGDATA="${PGDATA:-/var/lib/postgresql/15/node}"
PGPORT="${PGPORT:-5432}"
HERE="$(cd "$(dirname "$0")" && pwd)"
export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
command -v pg_autoctl >/dev/null || apt-get install -y postgresql-15-auto-failover pg-auto-failover-cli
install -d -o postgres -g postgres "$(dirname "$PGDATA")"
runuser -u postgres -- pg_autoctl create postgres \
  --pgdata "$PGDATA" --pgport "$PGPORT" --hostname "$NODE_HOST" --name "$NODE_NAME" \
  --dbname creditlines --monitor "$MONITOR_URL" \
  --auth scram-sha-256 --ssl-self-signed \
  --replication-quorum true --candidate-priority 50
# The service's settings, on every node (a standby becomes the primary).
install -o postgres -g postgres -m 0644 "$HERE/postgresql-creditlines.conf" "$PGDATA/postgresql-creditlines.conf"
grep -q "include_if_exists = 'postgresql-creditlines.conf'" "$PGDATA/postgresql.conf" ||
  echo "include_if_exists = 'postgresql-creditlines.conf'" >> "$PGDATA/postgresql.conf"
runuser -u postgres -- pg_autoctl show systemd --pgdata "$PGDATA" > /etc/systemd/system/pgautofailover.service
systemctl daemon-reload
systemctl enable --now pgautofailover
