#!/usr/bin/env bash
# Dagster UI + daemon and the recommendation service on loopback; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
set -m
"$BIN/dagster" dev -w workspace.yaml -h 127.0.0.1 -p "${DAGSTER_PORT:-3000}" &
dagster_pid=$!
"$BIN/recsys" serve --host 127.0.0.1 --port "${RECSYS_PORT:-8000}" &
service_pid=$!
set +m
trap 'kill -TERM -- -$dagster_pid -$service_pid 2>/dev/null || true; wait' EXIT INT TERM
echo "Dagster UI: http://127.0.0.1:${DAGSTER_PORT:-3000}   service: http://127.0.0.1:${RECSYS_PORT:-8000}"
wait -n
