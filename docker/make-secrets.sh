#!/usr/bin/env bash
# Credentials of docker/compose.yaml's `secure` profile, in docker/secrets/ (git-ignored): runs
# broker-config/make-credentials.sh (test CA, a server certificate that also names the broker
# service `broker-secure` and any HOSTs given, one identity per service of compose.yaml and one
# `<service>-health` monitor per health check, with their <identity>.password files and the ACL),
# and hands the files to the users the containers run as: server.key, passwd, acl and
# dynamic-security.json to the broker
# (uid 1883 in eclipse-mosquitto), the password files to S2M3 (uid 10001 in docker/Dockerfile).
# Run as root (sudo) for the ownership.
#
#   sudo docker/make-secrets.sh [--force] [HOST...]
#   docker/make-secrets.sh --no-owners DIR [HOST...]    # the same files in DIR, owners unchanged (tests)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/secrets"
force=() owners=1
if [ "${1:-}" = "--force" ]; then force=(--force); shift; fi
if [ "${1:-}" = "--no-owners" ]; then
  [ $# -ge 2 ] || { echo "make-secrets: --no-owners needs a folder" >&2; exit 2; }
  owners=0 out="$2"; shift 2
fi
broker_uid=1883 s2m3_uid=10001

if [ "$owners" -eq 1 ] && [ "$(id -u)" -ne 0 ]; then
  echo "make-secrets: run as root (sudo): the broker and the services run as other users and need to own their files" >&2
  exit 1
fi
bash "$here/../broker-config/make-credentials.sh" "${force[@]}" --devices "box-1 box-2 box-3" --aggregators agg-1 \
  --planners planner --clients client \
  --monitors "planner-health agg-1-health box-1-health box-2-health box-3-health" "$out" broker-secure "$@"

chmod 700 "$out"
[ "$owners" -eq 1 ] || exit 0
chown "$broker_uid:$broker_uid" "$out/server.key" "$out/passwd" "$out/acl" "$out/dynamic-security.json"
chmod 400 "$out/server.key" "$out/passwd" "$out/acl"
chmod 600 "$out/dynamic-security.json"
chown "$s2m3_uid:$s2m3_uid" "$out"/*.password
chmod 400 "$out"/*.password
echo "make-secrets: $out ready for docker compose --profile secure"
