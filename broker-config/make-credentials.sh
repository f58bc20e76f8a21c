#!/usr/bin/env bash
# Makes throw-away credentials for secure.conf: a test CA, a server certificate for the given
# host names, and one random password per role (device, planner, aggregator, client).
#
#   broker-config/make-credentials.sh [--force] [OUTDIR] [HOST...]
#
# OUTDIR defaults to broker-config/secrets (git-ignored). HOSTs are extra names or IP addresses
# for the server certificate (localhost and 127.0.0.1 are always included). Existing credentials
# are kept unless --force is given. Writes:
#   ca.crt ca.key                 test CA (trust ca.crt in clients)
#   server.crt server.key         broker certificate signed by the CA
#   passwd                        mosquitto password file (mosquitto_passwd)
#   credentials.env               S2M3_MQTT_PASSWORD_<ROLE>=… lines for the clients
#   <role>.password               each role's password alone, for `s2m3 … --password-file`
# Set S2M3_BROKER_USER=mosquitto to hand the files to the user the broker runs as.
set -euo pipefail

force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/secrets}"
[ $# -gt 0 ] && shift
roles=(device planner aggregator client)

for tool in openssl mosquitto_passwd; do
  command -v "$tool" >/dev/null || { echo "make-credentials: '$tool' not found; run scripts/setup.sh" >&2; exit 1; }
done

if [ -f "$out/ca.crt" ] && [ -f "$out/passwd" ] && [ "$force" -eq 0 ]; then
  echo "make-credentials: keeping existing credentials in $out (use --force to replace)"
  exit 0
fi
mkdir -p "$out"
umask 077
cd "$out"

san="DNS:localhost,IP:127.0.0.1"
for host in "$@"; do
  if [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then san="$san,IP:$host"; else san="$san,DNS:$host"; fi
done

ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 30 -subj "/CN=S2M3 throw-away test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=s2m3-broker" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=serverAuth\n' "$san" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 30 \
  -extfile server.ext 2>/dev/null
rm -f server.csr server.ext ca.srl

rm -f passwd credentials.env ./*.password
: > passwd
for role in "${roles[@]}"; do
  password="$(openssl rand -hex 16)"
  mosquitto_passwd -b passwd "$role" "$password"
  echo "S2M3_MQTT_PASSWORD_${role^^}=$password" >> credentials.env
  printf '%s\n' "$password" > "$role.password"
done

chmod 644 ca.crt server.crt
chmod 600 ca.key server.key passwd credentials.env ./*.password
if [ -n "${S2M3_BROKER_USER:-}" ]; then
  chown "$S2M3_BROKER_USER" server.key passwd
fi
echo "make-credentials: wrote CA, server certificate ($san) and passwords for ${roles[*]} to $out"
