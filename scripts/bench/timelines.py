#!/usr/bin/env python3
"""Sums up `s2m3 bench cluster --timelines FILE` (one JSON line per answer of the throughput runs):
for each run, where a request's time went (client round trip, aggregator, bus, device queues,
compute) and how busy each device's compute was. Usage: timelines.py FILE [--skip SECONDS]
(answers completed in the first SECONDS of each run are left out: the planner's first plan)."""
import json, statistics, sys
from collections import defaultdict


def median(values):
    return statistics.median(values) if values else float("nan")


def union_ms(intervals):
    total, end = 0.0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total


def main():
    path = sys.argv[1]
    skip = float(sys.argv[sys.argv.index("--skip") + 1]) * 1000 if "--skip" in sys.argv else 0.0
    runs = defaultdict(list)
    with open(path) as f:
        for line in f:
            answer = json.loads(line)
            if not answer["run"].startswith("latency: "):  # one at a time: hops.py's
                runs[answer["run"]].append(answer)
    for run, answers in runs.items():
        first = min(a["completedAtMs"] - a["totalMs"] for a in answers)
        answers = [a for a in answers if a["completedAtMs"] - a["totalMs"] >= first + skip]
        if not answers:
            continue
        begin = min(a["completedAtMs"] - a["totalMs"] for a in answers)
        span = max(a["completedAtMs"] for a in answers) - begin
        print(f"## {run}: {len(answers)} answers in {span / 1000:.1f} s, {len(answers) / span * 1000:.1f} per second\n")
        print("| per request, median ms | client | aggregator span | invocations' union | outside invocations |")
        print("|---|---:|---:|---:|---:|")
        client = [a["clientMs"] for a in answers]
        total = [a["totalMs"] for a in answers]
        inside = [union_ms([(e["startMs"], e["endMs"]) for e in a["timeline"]]) for a in answers]
        outside = [t - i for t, i in zip(total, inside)]
        print(f"| all | {median(client):.1f} | {median(total):.1f} | {median(inside):.1f} | {median(outside):.1f} |\n")
        devices = defaultdict(lambda: {"compute": 0.0, "count": 0, "queued": [], "transfer": []})
        modules = defaultdict(list)
        for a in answers:
            for e in a["timeline"]:
                d = devices[e["device"]]
                d["compute"] += e["computeMs"]
                d["count"] += 1
                d["queued"].append(e["queuedMs"])
                d["transfer"].append(e["transferMs"])
                modules[(e["module"], e["device"])].append(e["computeMs"])
        print("| device | invocations | compute ÷ wall | queued p50 ms | transfer p50 ms |")
        print("|---|---:|---:|---:|---:|")
        for name in sorted(devices):
            d = devices[name]
            print(f"| {name} | {d['count']} | {d['compute'] / span:.2f} | {median(d['queued']):.1f} | {median(d['transfer']):.1f} |")
        print("\n| module | device | runs | compute p50 ms | compute sum s |")
        print("|---|---|---:|---:|---:|")
        for (module, device), values in sorted(modules.items()):
            print(f"| {module} | {device} | {len(values)} | {median(values):.1f} | {sum(values) / 1000:.1f} |")
        print()


main()
