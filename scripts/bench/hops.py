#!/usr/bin/env python3
"""Where a request's time goes in the distributed cluster against the same task in process, from
`s2m3 bench cluster --timelines FILE` (its `latency: ...` runs). Per task, medians over the timed
requests of the parallel cluster's critical path: the invocations that ended just before the next
one on it started, walked back from the last answer. Usage: hops.py FILE

Columns: *client* the round trip at the client; *service* the aggregator's totalMs; *compute*,
*queued*, *transfer* summed over the critical path's invocations. The aggregator stamps an
invocation's send and its answer's arrival with the time of the event that made them, so
*transfer* holds everything but the device's queue and compute: the aggregator's own handling,
(de)serialisation on both sides, and the bus both ways. *client's part* is client − service. The
in-process runner's critical path, the same walk over its timeline, is the floor."""
import json, statistics, sys
from collections import defaultdict

PARALLEL, IN_PROCESS = "latency: distributed, parallel", "latency: monolithic, in process"


def median(values):
    return statistics.median(values) if values else float("nan")


def critical_path(timeline):
    """The entries on the path that ended last, walked back: each one's predecessor is the entry
    that ended latest at or before it started (a chained node's is the node it followed)."""
    done = [e for e in timeline if e["computeMs"] > 0 or e["endMs"] > e["startMs"]]
    if not done:
        return []
    by_node = {e["node"]: e for e in done}
    path = [max(done, key=lambda e: e["endMs"])]
    while True:
        current = path[-1]
        if current.get("chainedAfter") in by_node:
            before = by_node[current["chainedAfter"]]
        else:
            earlier = [e for e in done if e is not current and e["endMs"] <= current["startMs"] + 0.01 and e not in path]
            if not earlier:
                break
            before = max(earlier, key=lambda e: e["endMs"])
        path.append(before)
    return list(reversed(path))


def main():
    runs = defaultdict(lambda: defaultdict(list))
    with open(sys.argv[1]) as f:
        for line in f:
            answer = json.loads(line)
            runs[answer["run"]][answer["task"]].append(answer)
    parallel, local = runs[PARALLEL], runs[IN_PROCESS]
    if not parallel:
        sys.exit(f"no '{PARALLEL}' answers in {sys.argv[1]}: written by s2m3 bench cluster --timelines since hops.py exists")
    print("| task | hops | in process ms | client ms | service ms | compute | in-process compute | queued | transfer | client's part |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    nodes = defaultdict(lambda: {"cluster": [], "local": [], "devices": set(), "transfer": [], "chained": [], "start": []})
    for task, answers in parallel.items():
        parts = defaultdict(list)
        for a in answers:
            path = critical_path(a["timeline"])
            if not path:
                continue
            parts["hops"].append(len(path))
            parts["compute"].append(sum(e["computeMs"] for e in path))
            parts["queued"].append(sum(e["queuedMs"] for e in path))
            parts["transfer"].append(sum(e["transferMs"] for e in path))
            parts["client"].append(a["clientMs"])
            parts["service"].append(a["totalMs"])
            parts["clientPart"].append(a["clientMs"] - a["totalMs"])
            on_path = {e["node"] for e in path}
            for e in a["timeline"]:
                if e["node"] in on_path:
                    node = nodes[(task, e["node"], e["module"])]
                    node["cluster"].append(e["computeMs"])
                    node["devices"].add(e["device"])
                    node["transfer"].append(e["transferMs"])
                    node["chained"].append(bool(e.get("chainedAfter")))
                    node["start"].append(e["startMs"])
        local_compute = []
        for a in local.get(task, []):
            local_compute.append(sum(e["computeMs"] for e in critical_path(a["timeline"])))
            for e in a["timeline"]:
                nodes[(task, e["node"], e["module"])]["local"].append(e["computeMs"])
        m = {k: median(v) for k, v in parts.items()}
        local_client = median([a["clientMs"] for a in local.get(task, [])])
        print(f"| {task} | {m['hops']:.0f} | {local_client:.1f} | {m['client']:.1f} | {m['service']:.1f} | {m['compute']:.1f} "
              f"| {median(local_compute):.1f} | {m['queued']:.2f} | {m['transfer']:.2f} | {m['clientPart']:.2f} |")
    print("\nThe critical path's nodes: compute in the cluster (one device's threads) against in process, and the time"
          " on the bus (*chained*: the share of runs that followed the node before on the same device, their inputs"
          " not crossing the bus; a node's transfer is then its device handing the answer over):\n")
    print("| task | node | module | devices | chained | transfer p50 ms | cluster compute p50 ms | in process p50 ms | ratio |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|")
    for (task, node, module), v in sorted(nodes.items(), key=lambda item: (item[0][0], median(item[1]["start"]) if item[1]["start"] else 0)):
        if not v["cluster"]:
            continue
        c, l = median(v["cluster"]), median(v["local"])
        chained = sum(v["chained"]) / len(v["chained"])
        print(f"| {task} | {node} | {module} | {', '.join(sorted(v['devices']))} | {chained:.0%} | {median(v['transfer']):.2f} "
              f"| {c:.2f} | {l:.2f} | {c / l if l else float('nan'):.2f} |")


main()
