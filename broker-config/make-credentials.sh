#!/usr/bin/env bash
# Makes throw-away credentials for secure.conf: a test CA, a server certificate for the given
# host names, one identity per device, aggregator, planner, client and monitor (user name = client
# id, a random password each) and the broker's ACL for exactly those identities.
#
#   broker-config/make-credentials.sh [--force] [--devices "box-1 box-2"] [--aggregators "agg-1"]
#       [--planners planner] [--clients client] [--monitors up] [--sources "cam-1"] [OUTDIR] [HOST...]
#
# Each list is space- or comma-separated (defaults: devices box-1 box-2 box-3, aggregator agg-1,
# planner planner, client client, monitor up, no source; "" for none). Identities are letters, digits, '-', '_'
# and '.', unique across roles. OUTDIR defaults to broker-config/secrets (git-ignored). HOSTs are
# extra names or IP addresses for the server certificate (localhost and 127.0.0.1 are always
# included). Existing credentials are kept unless --force is given. Writes:
#   ca.crt ca.key                 test CA (trust ca.crt in clients)
#   server.crt server.key         broker certificate signed by the CA
#   passwd                        mosquitto password file (mosquitto_passwd): aggregators, clients, monitors
#   acl                           the broker's ACL: broker-config/acl's role blocks, one per such identity
#   dynamic-security.json         the dynamic-security plugin's config: devices and planners as its
#                                 clients (PBKDF2-SHA512 password hashes), one role per identity from
#                                 its acl block, an empty `s2m3-invoke-<device>` role per device that
#                                 the planner fills from the plan (docs/security.md)
#   identities                    "<role> <identity>" lines
#   credentials.env               S2M3_MQTT_PASSWORD_<IDENTITY>=… lines ('-' and '.' as '_')
#   <identity>.password           each identity's password alone, for `s2m3 … --password-file`
# Set S2M3_BROKER_USER=mosquitto to hand the files to the user the broker runs as.
set -euo pipefail

force=0
declare -A members=([device]="box-1 box-2 box-3" [aggregator]="agg-1" [planner]="planner" [client]="client" [monitor]="up" [source]="")
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1; shift ;;
    --devices|--aggregators|--planners|--clients|--monitors|--sources)
      [ $# -ge 2 ] || { echo "make-credentials: $1 needs a list" >&2; exit 2; }
      role="${1#--}"; role="${role%s}"; members[$role]="${2//,/ }"; shift 2 ;;
    *) break ;;
  esac
done
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/secrets}"
[ $# -gt 0 ] && shift
roles=(device aggregator planner client monitor source)
declare -A seen=()
for role in "${roles[@]}"; do
  for id in ${members[$role]}; do
    [[ "$id" =~ ^[A-Za-z0-9._-]{1,128}$ ]] || { echo "make-credentials: '$id' is not an identity (letters, digits, '-', '_', '.')" >&2; exit 2; }
    [ -z "${seen[$id]:-}" ] || { echo "make-credentials: identity '$id' given twice" >&2; exit 2; }
    seen[$id]=$role
  done
done

for tool in openssl mosquitto_passwd; do
  command -v "$tool" >/dev/null || { echo "make-credentials: '$tool' not found; run scripts/setup.sh" >&2; exit 1; }
done

if [ -f "$out/ca.crt" ] && [ -f "$out/passwd" ] && [ -f "$out/acl" ] && [ -f "$out/dynamic-security.json" ] && [ "$force" -eq 0 ]; then
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

# A role's block of the ACL template for one identity: its lines, {id} replaced.
block() {
  awk -v role="$1" -v id="$2" '
    $0 == "#@role " role {inside=1; next}
    inside && /^#@end/ {inside=0}
    inside && (!/^#/ || /^#@dynsec /) {gsub(/\{id\}/, id); print}' "$here/acl"
}
# One dynamic-security client: "salt" and "password" are base64 of the 12-byte salt and of
# PBKDF2-HMAC-SHA512(password, salt, 101 iterations, 64 bytes), as the plugin stores them.
dynsec_client() { # identity password role-names...
  local id="$1" password="$2" salt_hex hash salt roles="" priority=0; shift 2
  salt_hex="$(openssl rand -hex 12)"
  hash="$(openssl kdf -keylen 64 -kdfopt digest:SHA512 -kdfopt "pass:$password" -kdfopt "hexsalt:$salt_hex" \
    -kdfopt iter:101 -binary PBKDF2 | base64 -w0)"
  salt="$(printf '%b' "$(printf '%s' "$salt_hex" | sed 's/../\\x&/g')" | base64 -w0)"
  for role in "$@"; do
    roles="$roles${roles:+,}{\"rolename\":\"$role\",\"priority\":$priority}"; priority=$((priority + 10))
  done
  printf '{"username":"%s","textname":"%s","password":"%s","salt":"%s","iterations":101,"roles":[%s]}' \
    "$id" "$id" "$hash" "$salt" "$roles"
}
# One dynamic-security role from an identity's block: read → subscribePattern and
# publishClientReceive, write → publishClientSend (allow, priority 0); `#@dynsec TYPE TOPIC deny`
# lines → that denial at priority 1 (checked first).
dynsec_role() { # role-name role identity
  block "$2" "$3" | awk -v name="$1" '
    function acl(type, topic, allow, priority) {
      out = out (out == "" ? "" : ",") sprintf("{\"acltype\":\"%s\",\"topic\":\"%s\",\"allow\":%s,\"priority\":%d}", type, topic, allow, priority)
    }
    $1 == "topic" && ($2 == "read" || $2 == "readwrite") { acl("subscribePattern", $3, "true", 0); acl("publishClientReceive", $3, "true", 0) }
    $1 == "topic" && ($2 == "write" || $2 == "readwrite") { acl("publishClientSend", $3, "true", 0) }
    $1 == "#@dynsec" { acl($2, $3, ($4 == "deny" ? "false" : "true"), 1) }
    END { printf "{\"rolename\":\"%s\",\"acls\":[%s]}", name, out }'
}

rm -f passwd credentials.env acl identities dynamic-security.json ./*.password
: > passwd
: > credentials.env
: > identities
# The ACL: the template's lines outside role blocks once, then each role's block per identity
# (devices and planners: a role each in dynamic-security.json instead).
awk '/^#@role /{skip=1} !skip{print} /^#@end/{skip=0}' "$here/acl" > acl
dynsec_clients="" dynsec_roles=""
for role in "${roles[@]}"; do
  for id in ${members[$role]}; do
    password="$(openssl rand -hex 16)"
    key="$(printf '%s' "$id" | tr 'a-z.-' 'A-Z__')"
    echo "S2M3_MQTT_PASSWORD_${key}=$password" >> credentials.env
    printf '%s\n' "$password" > "$id.password"
    echo "$role $id" >> identities
    case "$role" in
      device)
        dynsec_clients="$dynsec_clients${dynsec_clients:+,}$(dynsec_client "$id" "$password" "s2m3-device-$id" "s2m3-invoke-$id")"
        dynsec_roles="$dynsec_roles${dynsec_roles:+,}$(dynsec_role "s2m3-device-$id" device "$id"),{\"rolename\":\"s2m3-invoke-$id\",\"acls\":[]}" ;;
      planner)
        dynsec_clients="$dynsec_clients${dynsec_clients:+,}$(dynsec_client "$id" "$password" "s2m3-planner-$id")"
        dynsec_roles="$dynsec_roles${dynsec_roles:+,}$(dynsec_role "s2m3-planner-$id" planner "$id")" ;;
      *)
        mosquitto_passwd -b passwd "$id" "$password"
        printf '\n# %s %s\n' "$role" "$id" >> acl
        block "$role" "$id" | grep -v '^#' >> acl || true ;;
    esac
  done
done
# Anything a dynamic-security client's roles do not name falls through to the ACL file (its
# patterns: the client's own reply topics), so no default allows anything.
printf '{"defaultACLAccess":{"publishClientSend":false,"publishClientReceive":false,"subscribe":false,"unsubscribe":true},"clients":[%s],"groups":[],"roles":[%s]}\n' \
  "$dynsec_clients" "$dynsec_roles" > dynamic-security.json

chmod 644 ca.crt server.crt
chmod 600 ca.key server.key passwd acl dynamic-security.json credentials.env
for file in ./*.password; do [ ! -e "$file" ] || chmod 600 "$file"; done
chmod 644 identities
if [ -n "${S2M3_BROKER_USER:-}" ]; then
  chown "$S2M3_BROKER_USER" server.key passwd acl dynamic-security.json
fi
echo "make-credentials: wrote CA, server certificate ($san), passwords and ACL for ${!seen[*]} to $out"
