#!/usr/bin/env bash
# A cluster across hosts on one Linux machine: the broker, the planner, the aggregator, a client
# and N devices each in a network namespace of its own, joined by veth pairs to one bridge, so
# that every hop crosses a real network interface with its own address (docs/deploy.md). The
# device links are shaped like Wi-Fi: `tc tbf` limits the rate of both directions of the device's
# link, and scripts/bench/wan-relay.py in the device's namespace delays every byte to and from the
# broker (kernels without `netem`, like the development VM's, cannot add delay with `tc`).
#
#   scripts/netns-cluster.sh check                 can this machine make namespaces? (exit 2: no, says why)
#   scripts/netns-cluster.sh up NAME [options]     make the namespaces NAME-* and start the services
#   scripts/netns-cluster.sh exec NAME NODE CMD…   run CMD in a node's namespace (e.g. client)
#   scripts/netns-cluster.sh kill NAME NODE        kill every process of one node (e.g. box-2)
#   scripts/netns-cluster.sh down NAME             stop every process of the cluster, delete its namespaces
#   scripts/netns-cluster.sh prune                 `down` every cluster started with --owner PID whose PID is gone
#
# Options of `up` (defaults in brackets):
#   --devices N [3]            device namespaces box-1 … box-N
#   --device-memory M [1GB]    each device's memory budget (agent and modules)
#   --delay-ms D [10]          delay of a device link, each way (0: no relay)
#   --rate-mbit R [50]         rate of a device link, each way (0: no tbf)
#   --device-gflops G [100]    speed each device announces (empty: each device measures its own)
#   --subnet A.B.C [10.77.0]   the /24 used inside the namespaces (nothing outside them sees it)
#   --s2m3 FILE                the executable [$S2M3_EXECUTABLE, else .build/release/s2m3]
#   --catalog FILE [catalog/default.json]   --models DIR [${S2M3_CACHE:-.cache}/models]
#   --logs DIR [$TMPDIR/NAME]  one log per service
#   --owner PID                the process the cluster belongs to (a test): `prune` removes the
#                              cluster once that process is gone, e.g. after a crashed test run
#
# Nodes and addresses: NAME-broker .1 (Mosquitto on port 1883), NAME-planner .2, NAME-agg-1 .3,
# NAME-client .4, NAME-box-I .(10+I); the bridge br0 lives in NAME-switch, so the machine's own
# network namespace gets no interface, no address and no route. Must run as root.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

owners=/run/s2m3-netns  # NAME.owner: the pid given with --owner

say() { echo "netns-cluster: $*"; }
fail() { echo "netns-cluster: $*" >&2; exit 1; }

check_name() {
  [[ "${1:-}" =~ ^[a-z0-9][a-z0-9-]{0,23}$ ]] || fail "NAME must be 1-24 lowercase letters, digits and '-' (got '${1:-}')"
}

# The namespaces of cluster NAME that exist now.
namespaces_of() {
  ip netns list | awk '{print $1}' | grep -E "^$1-(switch|broker|planner|agg-1|client|box-[0-9]+)$" || true
}

# Processes of namespace $1: all of them, or with $2 only those whose command name is (=s2m3) or
# is not (!s2m3) the given one.
pids_of() {
  local pid comm
  for pid in $(ip netns pids "$1" 2>/dev/null); do
    comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || continue
    case "${2:-}" in
      "") echo "$pid" ;;
      =*) [ "$comm" != "${2#=}" ] || echo "$pid" ;;
      !*) [ "$comm" = "${2#!}" ] || echo "$pid" ;;
    esac
  done
}

# Sends signal $1 to the processes of namespaces $2 (a list) selected by $3 (see pids_of), then
# waits up to $4 tenths of a second until none is left.
signal_and_wait() {
  local signal=$1 spaces=$2 filter=${3:-} tenths=${4:-0} ns pids
  for ns in $spaces; do
    pids="$(pids_of "$ns" "$filter")"
    [ -z "$pids" ] || kill "-$signal" $pids 2>/dev/null || true
  done
  while ((tenths-- > 0)); do
    pids=""
    for ns in $spaces; do pids+="$(pids_of "$ns" "$filter")"; done
    [ -n "$pids" ] || return 0
    sleep 0.1
  done
}

cmd_check() {
  [ "$(id -u)" -eq 0 ] || { echo "network namespaces need root (uid $(id -u))"; exit 2; }
  command -v ip >/dev/null 2>&1 || { echo "no 'ip' command (Debian package iproute2)"; exit 2; }
  command -v tc >/dev/null 2>&1 || { echo "no 'tc' command (Debian package iproute2)"; exit 2; }
  local probe="s2m3-check-$$-$RANDOM" out
  if ! out="$(ip netns add "$probe" 2>&1)"; then echo "'ip netns add' failed: $out"; exit 2; fi
  if ! out="$(ip -n "$probe" link add v0 type veth peer name v1 2>&1 \
      && ip netns exec "$probe" tc qdisc add dev v0 root tbf rate 50mbit burst 64kb latency 50ms 2>&1)"; then
    ip netns del "$probe"
    echo "veth pairs or 'tc ... tbf' do not work in a namespace: $out"; exit 2
  fi
  ip netns del "$probe"
  echo "network namespaces, veth pairs and tc tbf work"
}

cmd_down() {
  check_name "${1:-}"
  local name=$1 spaces ns
  spaces="$(namespaces_of "$name")"
  [ -n "$spaces" ] || { say "no namespaces $name-*"; return 0; }
  # The services first (up to 10 s to leave cleanly: a device publishes that it goes offline),
  # while the broker and the relays still carry their last messages; then everything else.
  signal_and_wait TERM "$spaces" =s2m3 100
  signal_and_wait TERM "$spaces" "" 20
  signal_and_wait KILL "$spaces" "" 10
  for ns in $spaces; do ip netns del "$ns" 2>/dev/null || true; done
  rm -f "$owners/$name.owner"
  say "deleted $(echo "$spaces" | wc -l) namespaces of $name"
}

cmd_prune() {
  local file name pid
  for file in "$owners"/*.owner; do
    [ -e "$file" ] || continue
    name="$(basename "$file" .owner)" pid="$(cat "$file")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then continue; fi
    say "pruning $name (its owner, pid $pid, is gone)"
    cmd_down "$name"
  done
}

cmd_kill() {
  check_name "${1:-}"
  local ns="$1-${2:?kill NAME NODE}" pids
  ip netns list | awk '{print $1}' | grep -qx "$ns" || fail "no namespace $ns"
  pids="$(pids_of "$ns")"
  [ -z "$pids" ] || kill -KILL $pids
  say "killed $(echo "$pids" | grep -c . || true) processes in $ns"
}

cmd_exec() {
  check_name "${1:-}"
  local ns="$1-${2:?exec NAME NODE CMD…}"
  shift 2
  exec ip netns exec "$ns" "$@"
}

cmd_up() {
  check_name "${1:-}"
  [ "$(id -u)" -eq 0 ] || fail "network namespaces need root (uid $(id -u)); run with sudo"
  local name=$1; shift
  local devices=3 memory=1GB delay=10 rate=50 gflops=100 subnet=10.77.0
  local s2m3="${S2M3_EXECUTABLE:-$repo/.build/release/s2m3}" catalog="$repo/catalog/default.json" owner=""
  local models="${S2M3_CACHE:-$repo/.cache}/models" logs="${TMPDIR:-/tmp}/$name"
  while (($#)); do
    case "$1" in
      --devices) devices=$2 ;; --device-memory) memory=$2 ;; --delay-ms) delay=$2 ;; --rate-mbit) rate=$2 ;;
      --device-gflops) gflops=$2 ;; --subnet) subnet=$2 ;; --s2m3) s2m3=$2 ;; --catalog) catalog=$2 ;;
      --models) models=$2 ;; --logs) logs=$2 ;; --owner) owner=$2 ;;
      *) fail "unknown option '$1' (see the top of $0)" ;;
    esac
    shift 2
  done
  [[ "$devices" =~ ^[0-9]+$ ]] && ((devices >= 1 && devices <= 200)) || fail "--devices must be 1-200"
  [[ "$subnet" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--subnet takes the first three numbers, e.g. 10.77.0"
  [[ "$delay" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "--delay-ms must be a number of milliseconds"
  [[ "$rate" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "--rate-mbit must be a number"
  [[ "$owner" =~ ^[0-9]*$ ]] || fail "--owner takes a process id"
  [ -x "$s2m3" ] || fail "no executable $s2m3 (swift build -c release, or pass --s2m3)"
  [ -f "$catalog" ] || fail "no catalog $catalog"
  [ -d "$models" ] || fail "no models folder $models (scripts/setup.sh makes it)"
  [ -z "$(namespaces_of "$name")" ] || fail "namespaces $name-* exist already (scripts/netns-cluster.sh down $name)"
  catalog="$(cd "$(dirname "$catalog")" && pwd)/$(basename "$catalog")"
  models="$(cd "$models" && pwd)"
  mkdir -p "$logs"
  logs="$(cd "$logs" && pwd)"

  # Whatever fails from here on (a failing command, or `fail`), leave nothing behind.
  up_name=$name up_done=""  # globals: the trap runs after this function has returned
  trap '[ -n "$up_done" ] || { echo "netns-cluster: up failed; removing $up_name" >&2; cmd_down "$up_name" >&2; }' EXIT
  if [ -n "$owner" ]; then mkdir -p "$owners" && echo "$owner" >"$owners/$name.owner"; fi
  local broker_ip="$subnet.1" switch="$name-switch"
  ip netns add "$switch"
  ip -n "$switch" link add br0 type bridge
  ip -n "$switch" link set br0 up

  # node → its address; every node gets a namespace and a veth pair: eth0 inside, v-NODE on the bridge.
  local -a nodes=(broker planner agg-1 client) addresses=("$subnet.1" "$subnet.2" "$subnet.3" "$subnet.4")
  local i
  for ((i = 1; i <= devices; i++)); do nodes+=("box-$i"); addresses+=("$subnet.$((10 + i))"); done
  for i in "${!nodes[@]}"; do
    local node=${nodes[$i]} ns="$name-${nodes[$i]}"
    ip netns add "$ns"
    ip link add eth0 netns "$ns" type veth peer name "v-$node" netns "$switch"
    ip -n "$switch" link set "v-$node" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "${addresses[$i]}/24" dev eth0
    ip -n "$ns" link set eth0 up
    if [[ $node == box-* ]] && [ "$rate" != 0 ]; then
      # Both directions of the device's link: its uplink (eth0 inside) and its downlink (v-box-I).
      ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "${rate}mbit" burst 64kb latency 50ms
      ip netns exec "$switch" tc qdisc add dev "v-$node" root tbf rate "${rate}mbit" burst 64kb latency 50ms
    fi
  done
  say "namespaces $name-{switch,$(IFS=,; echo "${nodes[*]}")} on $subnet.0/24 (bridge br0 in $switch)"

  start() {  # node log-name command…: runs in the node's namespace, detached, output to a fresh log
    local node=$1 log="$logs/$2.log"; shift 2
    : >"$log"  # emptied here, not in the background job: wait_for must not read an earlier run's lines
    ip netns exec "$name-$node" setsid "$@" </dev/null >>"$log" 2>&1 &
  }
  wait_for() {  # what seconds command…: retries the command every 0.1 s
    local what=$1 tries=$(($2 * 10)); shift 2
    until "$@" >/dev/null 2>&1; do
      tries=$((tries - 1))
      ((tries > 0)) || fail "$what did not come up (logs in $logs)"
      sleep 0.1
    done
  }

  # The broker: broker-config/dev.conf with its listener on the broker's own address, no persistence.
  local conf="$logs/mosquitto.conf"
  grep -q '^listener 1883 127.0.0.1$' "$repo/broker-config/dev.conf" || fail "broker-config/dev.conf has no 'listener 1883 127.0.0.1' line"
  sed -e "s/^listener 1883 127.0.0.1$/listener 1883 $broker_ip/" -e '/^persistence/d' -e '/^autosave_interval/d' \
    "$repo/broker-config/dev.conf" >"$conf"
  { echo "persistence false"; [ "$(id -u)" -ne 0 ] || echo "user root"; } >>"$conf"
  start broker mosquitto "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$conf"
  wait_for "the broker at $broker_ip:1883" 10 ip netns exec "$name-client" bash -c "exec 3<>/dev/tcp/$broker_ip/1883"
  say "broker mqtt://$broker_ip:1883 in $name-broker (log $logs/mosquitto.log)"

  local bus=(--broker "$broker_ip:1883")
  start planner planner "$s2m3" planner "${bus[@]}" --catalog "$catalog" --models "$models"
  start agg-1 agg-1 "$s2m3" aggregator --id agg-1 "${bus[@]}" --catalog "$catalog"
  say "planner in $name-planner ($subnet.2), aggregator agg-1 in $name-agg-1 ($subnet.3)"

  local speed=()
  [ -z "$gflops" ] || speed=(--compute-gflops "$gflops")
  for ((i = 1; i <= devices; i++)); do
    local device="box-$i" device_bus=("${bus[@]}") link="unshaped"
    if [ "$delay" != 0 ]; then
      # The device reaches the broker through the relay on its own loopback; the relay's side of
      # the connection crosses eth0 (and its tbf) with every byte delayed by --delay-ms.
      start "$device" "$device-relay" python3 "$repo/scripts/bench/wan-relay.py" \
        --listen 127.0.0.1:1883 --target "$broker_ip:1883" --delay-ms "$delay" --rate-mbit 100000
      wait_for "the relay of $device" 10 grep -q '^ready' "$logs/$device-relay.log"
      device_bus=(--broker 127.0.0.1:1883)
    fi
    if [ "$rate" != 0 ] || [ "$delay" != 0 ]; then
      link="$([ "$rate" = 0 ] && echo "no rate limit" || echo "${rate} Mbit/s"), $([ "$delay" = 0 ] && echo "no added delay" || echo "${delay} ms each way")"
    fi
    start "$device" "$device" "$s2m3" device --id "$device" --memory "$memory" "${device_bus[@]}" \
      --catalog "$catalog" --models "$models" "${speed[@]}"
    say "$device in $name-$device ($subnet.$((10 + i))): $link"
  done
  up_done=yes
  say "client namespace $name-client ($subnet.4): $0 exec $name client $s2m3 request classify-image --image photo.jpg --broker $broker_ip:1883"
  say "logs in $logs; stop with: $0 down $name"
}

case "${1:-}" in
  check) cmd_check ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  kill) shift; cmd_kill "$@" ;;
  prune) cmd_prune ;;
  exec) shift; cmd_exec "$@" ;;
  *) fail "usage: $0 check | up NAME [options] | exec NAME NODE CMD… | kill NAME NODE | down NAME | prune" ;;
esac
