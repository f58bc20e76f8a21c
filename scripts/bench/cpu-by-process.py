#!/usr/bin/env python3
"""Samples the CPU time (user + system, from /proc/PID/stat) of every mosquitto and s2m3 process
twice a second until stopped (SIGINT/SIGTERM), then prints one JSON line per process: pid, the
command line, the first and last time it was seen (Unix seconds) and its CPU seconds then. Used to
split a throughput run's CPU between the broker, the aggregator, the planner and the devices
(docs/benchmarks.md, "Where the CPU goes")."""
import json, os, signal, sys, time

TICKS = os.sysconf("SC_CLK_TCK")
seen = {}
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
while running:
    now = time.time()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            if "mosquitto" not in cmd and "s2m3 " not in cmd:
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, IndexError, ValueError):
            continue
        entry = seen.setdefault(pid, {"pid": int(pid), "cmd": cmd, "first": now, "cpuFirst": cpu})
        entry["last"], entry["cpuLast"] = now, cpu
    time.sleep(0.5)
for entry in seen.values():
    print(json.dumps(entry))
sys.stdout.flush()
