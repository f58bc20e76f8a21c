#!/usr/bin/env python3
"""Where one hop's time goes, from the marks of S2M3_HOP_TRACE (docs/benchmarks.md, "Inside one
hop"). A hop: the aggregator receives the message that makes a node ready, sends the node's
invocation, the device runs it and answers, and the aggregator receives the answer. For every
invocation of MODULE in the trace, the time between consecutive marks along that way; medians and
90th percentiles over them, each step put in one of four kinds: *own* (our code: decoding, state
machines, encoding, libmosquitto's publish call), *hand-off* (a thread or task waking to take the
message on), *bus* (from a publish call's return to the receiver's network thread: libmosquitto's
network thread, the kernel, the broker), *run* (the module's run, the inference threads' hand-offs
included). Run requests one at a time so that nothing else is in flight on the device.

Usage: hop-trace.py FOLDER MODULE"""
import glob, os, statistics, sys
from collections import defaultdict


def read(folder):
    marks = {}
    for path in glob.glob(os.path.join(folder, "*.trace")):
        rows = []
        with open(path) as f:
            for line in f:
                ns, _, label = line.rstrip("\n").partition(" ")
                if ns.isdigit():
                    rows.append((int(ns), label))
        rows.sort()
        marks[os.path.basename(path)[:-len(".trace")]] = rows
    return marks


def first(rows, start_ns, prefix, limit_ns=None):
    for ns, label in rows:
        if ns >= start_ns and label.startswith(prefix) and (limit_ns is None or ns <= limit_ns):
            return ns, label
    return None


def last(rows, end_ns, prefix, after_ns=0):
    found = None
    for ns, label in rows:
        if ns > end_ns:
            break
        if ns >= after_ns and label.startswith(prefix):
            found = (ns, label)
    return found


# Steps after the invocation leaves the aggregator, in order: (process, label prefix, step name, kind).
DEVICE_STEPS = [
    ("device", "rx ", "bus: aggregator → device", "bus"),
    ("device", "device.receive", "device: network thread → agent", "hand-off"),
    ("device", "device.run-queued", "device: decode, admit", "own"),
    ("device", "device.run-start", "device: to the run's task", "hand-off"),
    ("device", "device.run-end", "device: run", "run"),
    ("device", "device.answer", "device: finish the run", "own"),
    ("device", "tx ", "device: encode the answer", "own"),
    ("device", "queued", "device: publish call", "own"),
    ("aggregator", "rx ", "bus: device → aggregator", "bus"),
]


def hops(marks, module):
    aggregator = next((rows for name, rows in marks.items() if name.startswith("aggregator-")), None)
    if aggregator is None:
        sys.exit("no aggregator-*.trace: was S2M3_HOP_TRACE set for the cluster?")
    for ns, label in aggregator:
        parts = label.split("/")
        if not label.startswith("tx ") or "modules" not in parts or not label.endswith("/invoke"):
            continue
        at = parts.index("modules")
        if parts[at + 1] != module:
            continue
        device = marks.get(f"device-{parts[at + 2]}")
        if device is None:
            continue
        receive = last(aggregator, ns, "aggregator.receive")
        if receive is None:
            continue
        trigger = last(aggregator, receive[0], "rx ")
        steps = [("aggregator: network thread → service", "hand-off", trigger, receive)]
        before = receive
        for prefix, name in [("aggregator.decoded", "aggregator: decode"), ("aggregator.routed", "aggregator: route"),
                             ("aggregator.encoded", "aggregator: build and encode the invocation")]:
            mark = last(aggregator, ns, prefix, after_ns=receive[0])
            if mark is not None:
                steps.append((name, "own", before, mark))
                before = mark
        tx = (ns, label)
        steps.append(("aggregator: message and properties", "own", before, tx))
        queued = first(aggregator, ns, "queued")
        steps.append(("aggregator: publish call", "own", tx, queued))
        before, topic = queued, label[3:]
        for process, prefix, name, kind in DEVICE_STEPS:
            rows = device if process == "device" else aggregator
            root = topic.rsplit("/modules/", 1)[0]
            wanted = {("device", "rx "): "rx " + topic, ("device", "tx "): "tx " + root + "/aggregators/",
                      ("aggregator", "rx "): "rx " + root + "/aggregators/"}.get((process, prefix), prefix)
            mark = first(rows, before[0] if before else 0, wanted)
            steps.append((name, kind, before, mark))
            before = mark
        if all(a is not None and b is not None for _, _, a, b in steps):
            yield [(name, kind, (b[0] - a[0]) / 1000) for name, kind, a, b in steps]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    found = list(hops(read(sys.argv[1]), sys.argv[2]))
    if not found:
        sys.exit(f"no complete hop of module '{sys.argv[2]}' in {sys.argv[1]}")
    steps = defaultdict(list)
    kinds = defaultdict(lambda: defaultdict(float))
    for index, hop in enumerate(found):
        for name, kind, us in hop:
            steps[(name, kind)].append(us)
            kinds[kind][index] += us
    print(f"{len(found)} hops of {sys.argv[2]}\n")
    print("| step | kind | p50 µs | p90 µs |")
    print("|---|---|---:|---:|")
    for (name, kind), values in steps.items():
        values.sort()
        print(f"| {name} | {kind} | {statistics.median(values):.0f} | {values[int(0.9 * (len(values) - 1))]:.0f} |")
    print("\n| kind | p50 µs per hop |")
    print("|---|---:|")
    totals = [sum(us for _, _, us in hop) for hop in found]
    for kind in ["own", "hand-off", "bus", "run"]:
        print(f"| {kind} | {statistics.median(kinds[kind].values()) if kinds[kind] else 0:.0f} |")
    print(f"| all but the run | {statistics.median([t - kinds['run'][i] for i, t in enumerate(totals)]):.0f} |")
    print(f"| whole hop | {statistics.median(totals):.0f} |")


if __name__ == "__main__":
    main()
