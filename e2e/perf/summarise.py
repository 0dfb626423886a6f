#!/usr/bin/env python3
"""Figures of a scripts/perf.sh run: reads what e2e/perf/run-side.sh left in WORK/<side>/ (side.env, the runner's
summary.yaml and wlStates.csv, the manager's and the apiserver's metrics at the start and end of the run), prints
one side-by-side Markdown table and writes the figures as JSON.

  summarise.py WORK --generator GENERATOR_YAML --out OUT.json [--meta KEY=VALUE ...]

Definitions (also in docs/performance.md):
  admitted        Workloads with Admitted or Finished true in the cluster at the end of the run (for a timed-out
                  run: at its timeout); admitted_recorded is the runner's recorder's count (wlStates.csv)
  wall_s          first to last ClusterQueue event in the runner's summary.yaml (the runner's own measure); for a
                  timed-out run the time from the runner's start to the timeout
  time to admission  per class, over the Workloads the recorder saw admitted (for a finished run this is the
                  summary's mean; for a timed-out run it covers those admitted before the runner stopped)
  writes          the manager's own API writes during the run (create/update/patch/delete, Events not
                  included), counted by the apiserver: each manager runs as a ServiceAccount whose requests
                  e2e/perf/flowschemas.yaml sorts into FlowSchemas of their own
                  (apiserver_flowcontrol_dispatched_requests_total); Turnstile's own counter
                  turnstile_api_writes_total is reported next to it
  events          Events the manager wrote during the run (the same way)
  cpu_s           utime + stime of the manager process between the runner's start and the end of its recording
  peak_rss_mib    VmHWM of the manager process at the end
"""
import argparse
import csv
import json
import math
import os
import re
import sys
from datetime import datetime

import yaml

SIDES = [("turnstile", "Turnstile"), ("kueue", "Kueue")]
APISERVER_WRITE_VERBS = {"POST", "PUT", "PATCH", "DELETE", "APPLY", "CREATE", "UPDATE", "DELETECOLLECTION"}

LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def read_env(path):
    env = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    env[k] = v
    return env


def read_prom(path):
    """{(name, frozenset(labels)): value} of a Prometheus text file (missing file: {})."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            if not line or line[0] == "#":
                continue
            m = LINE.match(line)
            if not m:
                continue
            try:
                value = float(m.group(3))
            except ValueError:
                continue
            labels = frozenset(LABEL.findall(m.group(2) or ""))
            out[(m.group(1), labels)] = value
    return out


def delta(start, end, name, keep=lambda labels: True):
    """Per label set: end - start of the samples of `name` whose labels pass `keep`."""
    out = {}
    for (n, labels), v in end.items():
        if n != name:
            continue
        d = dict(labels)
        if not keep(d):
            continue
        out[labels] = v - start.get((n, labels), 0.0)
    return out


def go_duration(s):
    total = 0.0
    for num, unit in re.findall(r"([0-9.]+)(ns|us|µs|ms|s|m|h)", s):
        total += float(num) * {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def parse_time(s):
    # Go's RFC3339Nano: trim the fraction to microseconds for Python.
    m = re.match(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", s)
    if not m:
        return None
    frac = (m.group(2) or ".0")[:7]
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat(m.group(1) + frac + tz)


def expected(generator):
    """Workloads per class the generator creates."""
    with open(generator) as f:
        cfg = yaml.safe_load(f)
    per_class = {}
    for cohort in cfg.get("cohorts", []):
        for qs in cohort.get("queuesSets", []):
            for ws in qs.get("workloadsSets", []):
                for w in ws.get("workloads", []):
                    n = cohort.get("count", 1) * qs.get("count", 1) * ws.get("count", 1)
                    per_class[w["className"]] = per_class.get(w["className"], 0) + n
    return per_class


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, math.ceil(q / 100 * len(values)) - 1))
    return values[k]


def side_figures(d, classes):
    env = read_env(os.path.join(d, "side.env"))
    fig = {"outcome": env.get("outcome", "not run"), "manager": env.get("manager"),
           "manager_client": env.get("manager_client")}
    if "error" in env:
        fig["error"] = env["error"]
    fig["timed_out"] = fig["outcome"] == "timed-out"
    fig["timeout_s"] = int(env["timeout_s"]) if "timeout_s" in env else None
    fig["run_s"] = int(env["run_s"]) if "run_s" in env else None

    summary = None
    spath = os.path.join(d, "runner", "summary.yaml")
    if os.path.exists(spath):
        with open(spath) as f:
            summary = yaml.safe_load(f) or {}

    # Workloads, from the recorder's per-Workload CSV.
    rows = []
    cpath = os.path.join(d, "runner", "wlStates.csv")
    if os.path.exists(cpath):
        with open(cpath) as f:
            rows = list(csv.DictReader(f))
    total = sum(classes.values())
    fig["workloads_total"] = total
    fig["workloads_recorded"] = len(rows)
    admitted = [r for r in rows if int(r["ms to admitted"]) > 0 or int(r["ms to finish"]) > 0]
    fig["admitted_recorded"] = len(admitted) if rows else None
    fig["finished_recorded"] = sum(1 for r in rows if int(r["ms to finish"]) > 0) if rows else None
    # Admitted: the cluster's count at the end of the run (Workloads with Admitted or Finished true), which is also
    # what a timed-out run admitted by its timeout; the recorder's count when that is missing.
    if env.get("admitted_or_finished_now"):
        fig["admitted"] = int(env["admitted_or_finished_now"])
    else:
        fig["admitted"] = fig["admitted_recorded"]
    mean, p50, p99, evictions = {}, {}, {}, {}
    for c in classes:
        times = [int(r["ms to admitted"]) / 1000 for r in admitted if r["class name"] == c and int(r["ms to admitted"]) > 0]
        mean[c] = round(sum(times) / len(times), 1) if times else None
        p50[c] = round(percentile(times, 50), 1) if times else None
        p99[c] = round(percentile(times, 99), 1) if times else None
        if rows:
            evictions[c] = sum(int(r["num evictions"]) for r in rows if r["class name"] == c)
    fig["mean_time_to_admission_s"] = mean
    fig["p50_time_to_admission_s"] = p50
    fig["p99_time_to_admission_s"] = p99
    fig["evictions"] = evictions or None

    fig["wall_s"] = None
    if summary:
        cq = summary.get("clusterQueueClasses") or {}
        firsts = [parse_time(g["firstEventTime"]) for g in cq.values() if g.get("firstEventTime")]
        lasts = [parse_time(g["lastEventTime"]) for g in cq.values() if g.get("lastEventTime")]
        firsts, lasts = [t for t in firsts if t], [t for t in lasts if t]
        if firsts and lasts and not fig["timed_out"]:
            fig["wall_s"] = round((max(lasts) - min(firsts)).total_seconds(), 1)
        fig["cq_usage_pct"] = {name: round(100 * g["cpuAverageUsage"] / g["nominalQuota"], 1)
                               for name, g in cq.items() if g.get("nominalQuota")}
        wc = summary.get("workloadClasses") or {}
        fig["summary_mean_time_to_admission_s"] = {
            c: round(v.get("averageTimeToAdmissionMs", 0) / 1000, 1) for c, v in wc.items()}
        if not evictions:
            fig["evictions"] = {c: v.get("totalEvictions", 0) for c, v in wc.items()}
        fig["dropped_workload_events"] = summary.get("droppedWorkloadEvents", 0)
    if fig["wall_s"] is None and fig["run_s"] is not None:
        # Timed out (or no summary): the harness's time from the runner's start to the stop.
        fig["wall_s"] = float(fig["run_s"])
        fig["wall_from"] = "harness: runner start to stop"

    rlog = os.path.join(d, "logs", "runner.log")
    if os.path.exists(rlog):
        with open(rlog, errors="replace") as f:
            for line in f:
                if "Generator done" in line:
                    m = re.search(r'"duration":\s*"([^"]+)"', line)
                    if m:
                        fig["generator_s"] = round(go_duration(m.group(1)), 1)

    # API writes.
    ms, me = read_prom(os.path.join(d, "metrics-start.txt")), read_prom(os.path.join(d, "metrics-end.txt"))
    aps, ape = read_prom(os.path.join(d, "apiserver-start.txt")), read_prom(os.path.join(d, "apiserver-end.txt"))

    def dispatched(schema):
        d = delta(aps, ape, "apiserver_flowcontrol_dispatched_requests_total", lambda l: l.get("flow_schema") == schema)
        return int(sum(d.values())) if ape else None

    writes = dispatched("perf-manager-writes")
    events = dispatched("perf-manager-events")
    fig["writes"] = writes
    fig["events_written"] = events
    fig["reads"] = dispatched("perf-manager-reads")
    fig["writes_source"] = ("apiserver_flowcontrol_dispatched_requests_total of the manager's ServiceAccount: "
                            "create/update/patch/delete on any resource but Events")
    kueue_objects = {}
    for labels, v in delta(aps, ape, "apiserver_request_total",
                           lambda l: l.get("verb") in APISERVER_WRITE_VERBS and l.get("group") == "kueue.x-k8s.io").items():
        l = dict(labels)
        key = f'{l.get("verb")} {l.get("resource")}{"/" + l["subresource"] if l.get("subresource") else ""}'
        kueue_objects[key] = kueue_objects.get(key, 0) + int(v)
    fig["apiserver_kueue_writes_all_clients"] = dict(sorted(kueue_objects.items()))
    own = delta(ms, me, "turnstile_api_writes_total")
    if own:
        by = {}
        for labels, v in own.items():
            l = dict(labels)
            key = f'{l.get("verb")} {l.get("resource")} {l.get("result")}'
            by[key] = by.get(key, 0) + int(v)
        fig["turnstile_api_writes_total"] = int(sum(own.values()))
        fig["turnstile_api_writes_by"] = dict(sorted(by.items()))
    n = fig["admitted"] or 0
    fig["writes_per_admission"] = round(writes / n, 2) if writes is not None and n else None
    fig["events_per_admission"] = round(events / n, 2) if events is not None and n else None

    clk = int(env.get("clk_tck", "100"))
    if "end_ticks" in env and "start_ticks" in env:
        fig["cpu_s"] = round((int(env["end_ticks"]) - int(env["start_ticks"])) / clk, 1)
        fig["cpu_total_s"] = round(int(env["end_ticks"]) / clk, 1)
    else:
        fig["cpu_s"] = None
    fig["peak_rss_mib"] = round(int(env["end_hwm_kib"]) / 1024) if "end_hwm_kib" in env else None
    fig["rss_at_end_mib"] = round(int(env["end_rss_kib"]) / 1024) if "end_rss_kib" in env else None
    return fig


def fmt(v, unit="", digits=1):
    if v is None:
        return "–"
    if isinstance(v, float):
        v = round(v, digits)
        if digits == 0:
            v = int(v)
    if isinstance(v, int) and abs(v) >= 1000:
        return f"{v:,}{unit}"
    return f"{v}{unit}"


def table(figs, classes):
    names = [label for key, label in SIDES if key in figs]
    keys = [key for key, _ in SIDES if key in figs]
    cls = [c for c in ("large", "medium", "small") if c in classes] + sorted(c for c in classes if c not in ("large", "medium", "small"))
    total = sum(classes.values())
    rows = []

    def row(label, f):
        rows.append([label] + [f(figs[k]) for k in keys])

    def outcome(f):
        o = f["outcome"]
        if o == "timed-out":
            return f"timed out after {f['timeout_s']} s"
        if o == "finished":
            return "finished"
        return o + (f" ({f['error']})" if f.get("error") else "")

    row("manager", lambda f: f.get("manager") or "–")
    row("manager client", lambda f: f.get("manager_client") or "–")
    row("outcome", outcome)
    row(f"Workloads admitted (of {total:,})", lambda f: fmt(f["admitted"]))
    row("wall: first to last ClusterQueue event",
        lambda f: fmt(f["wall_s"], " s") + (" (stopped)" if f.get("wall_from") else ""))
    row("generator (creating the Workloads)", lambda f: fmt(f.get("generator_s"), " s"))
    row("mean time to admission " + " / ".join(cls),
        lambda f: " / ".join(fmt(f["mean_time_to_admission_s"].get(c), "") for c in cls) + " s")
    row("p99 time to admission " + " / ".join(cls),
        lambda f: " / ".join(fmt(f["p99_time_to_admission_s"].get(c), "") for c in cls) + " s")
    row("ClusterQueue usage (average / nominal quota)",
        lambda f: ", ".join(f"{fmt(v, ' %')}" for v in (f.get("cq_usage_pct") or {}).values()) or "–")
    row("evictions " + " / ".join(cls),
        lambda f: " / ".join(fmt((f.get("evictions") or {}).get(c)) for c in cls))
    row("API writes per admission (own, no Events)", lambda f: fmt(f["writes_per_admission"], "", 2)
        + (f" ({f['writes']:,})" if f["writes"] is not None else ""))
    row("Events written per admission", lambda f: fmt(f["events_per_admission"], "", 2))
    row("manager CPU (user + sys) during the run", lambda f: fmt(f["cpu_s"], " s"))
    row("manager peak RSS (VmHWM)", lambda f: fmt(f["peak_rss_mib"], " MiB"))
    width = [max(len(r[i]) for r in rows + [["figure"] + names]) for i in range(len(names) + 1)]
    out = ["| " + " | ".join(h.ljust(width[i]) for i, h in enumerate(["figure"] + names)) + " |",
           "|" + "|".join("-" * (w + 2) for w in width) + "|"]
    for r in rows:
        out.append("| " + " | ".join(c.ljust(width[i]) for i, c in enumerate(r)) + " |")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    p.add_argument("--generator", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--meta", action="append", default=[])
    args = p.parse_args()
    classes = expected(args.generator)
    figs = {}
    for key, _ in SIDES:
        d = os.path.join(args.work, key)
        if os.path.exists(os.path.join(d, "side.env")):
            figs[key] = side_figures(d, classes)
    if not figs:
        sys.exit("summarise: no side was run")
    doc = {}
    for m in args.meta:
        k, v = m.split("=", 1)
        doc[k] = v
    doc["workloads_per_class"] = classes
    doc.update(figs)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(table(figs, classes))


if __name__ == "__main__":
    main()
