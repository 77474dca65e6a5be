#!/usr/bin/env bash
# The pg_auto_failover monitor, under systemd (deploy/ha/README.md). Run as root on the monitor
# machine. MONITOR_HOST: the name the nodes reach it by.
set -euo pipefail
: "${MONITOR_HOST:?the monitor's host name}"
PGDATA="${PGDATA:-/var/lib/postgresql/15/monitor}"
PGPORT="${PGPORT:-5432}"
export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
command -v pg_autoctl >/dev/null || apt-get install -y postgresql-15-auto-failover pg-auto-failover-cli
install -d -o postgres -g postgres "$(dirname "$PGDATA")"
runuser -u postgres -- pg_autoctl create monitor \
  --pgdata "$PGDATA" --pgport "$PGPORT" --hostname "$MONITOR_HOST" \
  --auth scram-sha-256 --ssl-self-signed
runuser -u postgres -- pg_autoctl show systemd --pgdata "$PGDATA" > /etc/systemd/system/pgautofailover-monitor.service
systemctl daemon-reload
systemctl enable --now pgautofailover-monitor
# Failure detection: the defaults (kept here) declare a node unhealthy after 20 s and wait 30 s
# for a failed primary to demote itself. To fail over faster, lower both on the monitor AND the
# keepers' timeout.network_partition_timeout (pg_autoctl config set on each node) below
# primary_demote_timeout; scripts/fault/failover.py --short uses 3 s and 5 s on a dead primary.
# runuser -u postgres -- psql -p "$PGPORT" -d pg_auto_failover \
#   -c "ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = '10s'" \
#   -c "ALTER SYSTEM SET pgautofailover.primary_demote_timeout = '20s'" -c "SELECT pg_reload_conf()"
