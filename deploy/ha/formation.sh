#!/usr/bin/env bash
# The formation's settings, once both nodes run (deploy/ha/README.md).
set -euo pipefail
: "${MONITOR_URL:?postgres://autoctl_node@<monitor>:5432/pg_auto_failover?sslmode=require}"
# Both nodes in the replication quorum (a commit waits for the standby: ANY 1 (...)), both
# candidates for promotion.
runuser -u postgres -- pg_autoctl show settings --monitor "$MONITOR_URL"
# Three data nodes: require one synchronous standby at all times (refused with fewer than two
# standbys, see README.md):
# runuser -u postgres -- pg_autoctl set formation number-sync-standbys 1 --monitor "$MONITOR_URL"
runuser -u postgres -- pg_autoctl show state --monitor "$MONITOR_URL"
