#!/bin/sh
# Health checks of the S2M3 containers (docker/compose.yaml), read on the bus with the Mosquitto
# clients (topics as in topics.md). Exit 0 when healthy, 1 when not (with the reason on stderr).
#
#   s2m3-health broker                 the broker accepts this client and a subscription
#   s2m3-health plan [DEVICE]          a retained plan exists (and names DEVICE, i.e. the planner
#                                      saw DEVICE online and placed modules for it)
#   s2m3-health device DEVICE          DEVICE's retained state is online and its next telemetry
#                                      reports its assignment applied
#   s2m3-health aggregator             an aggregator of the shared group answers a request: one
#                                      without inputs, to the task `health-check` that no catalog
#                                      has, must come back as a task error on its response topic
#
# Options, named as `s2m3` names them: --broker HOST:PORT (default 127.0.0.1:1883), --root ROOT
# (default s2m3/v1), --tls-ca FILE, --username NAME, --password-file FILE, --timeout SECONDS
# (default 5). With --tls-ca the broker's certificate must name HOST.
set -eu

usage() { echo "usage: s2m3-health broker|plan [DEVICE]|device DEVICE|aggregator [options]" >&2; exit 2; }
fail() { echo "s2m3-health: $*" >&2; exit 1; }

[ $# -ge 1 ] || usage
check="$1"; shift
subject=""
case "$check" in
  broker|aggregator) ;;
  plan) if [ $# -ge 1 ] && [ "${1#--}" = "$1" ]; then subject="$1"; shift; fi ;;
  device) [ $# -ge 1 ] || usage; subject="$1"; shift ;;
  *) usage ;;
esac

broker="127.0.0.1:1883" root="s2m3/v1" ca="" user="" password_file="" timeout=5
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
    --broker) broker="$2" ;;
    --root) root="$2" ;;
    --tls-ca) ca="$2" ;;
    --username) user="$2" ;;
    --password-file) password_file="$2" ;;
    --timeout) timeout="$2" ;;
    *) usage ;;
  esac
  shift 2
done
host="${broker%:*}" port="${broker##*:}"
[ -n "$host" ] && [ "$port" != "$broker" ] || fail "--broker '$broker' is not HOST:PORT"

# Connection options shared by every client call, as positional parameters.
set -- -h "$host" -p "$port" -V mqttv5 -i "s2m3-health-$check-$$"
[ -z "$ca" ] || set -- "$@" --cafile "$ca"
[ -z "$user" ] || set -- "$@" -u "$user"
if [ -n "$password_file" ]; then
  [ -r "$password_file" ] || fail "cannot read the password file $password_file"
  set -- "$@" -P "$(cat "$password_file")"
fi

# One message of `topic` (a retained one at once), or fail naming what was awaited.
one() {
  topic="$1" what="$2"; shift 2
  mosquitto_sub "$@" -t "$topic" -C 1 -W "$timeout" 2>/dev/null || fail "no $what on $topic within ${timeout} s"
}

case "$check" in
  broker)
    mosquitto_sub "$@" -t "$root/plan" -E -W "$timeout" >/dev/null 2>&1 || fail "the broker at $broker did not accept a subscription"
    ;;
  plan)
    plan="$(one "$root/plan" "retained plan" "$@")"
    case "$plan" in *'"schema":"s2m3.plan/1"'*) ;; *) fail "the retained plan is not an s2m3.plan/1" ;; esac
    if [ -n "$subject" ]; then
      case "$plan" in *"\"$subject\""*) ;; *) fail "the retained plan does not name $subject" ;; esac
    fi
    ;;
  device)
    state="$(one "$root/devices/$subject/state" "retained state" "$@")"
    case "$state" in *'"status":"online"'*) ;; *) fail "$subject is not online: $state" ;; esac
    telemetry="$(one "$root/devices/$subject/telemetry" "telemetry" "$@")"
    case "$telemetry" in *'"assignment":{'*'"status":"applied"'*) ;; *) fail "$subject has not applied an assignment" ;; esac
    ;;
  aggregator)
    reply="$(mosquitto_rr "$@" -t "$root/requests/health-check" -e "$root/clients/s2m3-health-$$/replies" \
      -D publish content-type application/json -m '{"schema":"s2m3.task-request/1","inputs":{}}' \
      -W "$timeout" 2>/dev/null)" || fail "no aggregator answered within ${timeout} s"
    case "$reply" in *'"schema":"s2m3.task-error/1"'*) ;; *) fail "unexpected answer: $reply" ;; esac
    ;;
esac
