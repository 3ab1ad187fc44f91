#!/usr/bin/env python3
"""da-vez with and without a fresh Idempotency-Key per call, alternating on one service, for one
or more binaries (PostgreSQL, 50 consultants, 30 speak pt, 16 connections).

bench/throughput.py measures the keyed figure once per repetition, after two plain runs; its
ratio spreads by ±0.05 between repetitions of the same build. Here each binary serves one
database, and `--repeat` pairs of runs (plain, then keyed, each after a vacuum and a
checkpoint) give a ratio per pair, with the CPU time per request of the service and of every
PostgreSQL process (from /proc), which shows where a keyed request's extra cost goes.

Usage: python3 bench/fresh_key.py [--duration S] [--repeat N] LABEL=PATH [LABEL=PATH ...]
Writes bench/results/fresh_key.json.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py)
from throughput import wrk_script  # noqa: E402

PORT = 18096  # not run.py's default, so another benchmark may run beside this one
PATH = "/consultor/da-vez?idioma=pt"


def cpu_ticks(pids):
    """User and system clock ticks used so far by the processes `pids` (all their threads)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def measured(svc, keyed, duration):
    postgres = [int(pid) for pid in run.sh(["pgrep", "-f", "postgres"]).split()]
    before = cpu_ticks([svc.proc.pid]), cpu_ticks(postgres)
    result = (wrk_script(svc, PATH, 16, duration, "fresh_key.lua") if keyed
              else run.wrk(svc, PATH, 16, duration))
    after = cpu_ticks([svc.proc.pid]), cpu_ticks(postgres)
    us_per_tick = 1e6 / 100  # USER_HZ
    result["service_cpu_us_per_request"] = (after[0] - before[0]) * us_per_tick / result["requests"]
    result["postgres_cpu_us_per_request"] = (after[1] - before[1]) * us_per_tick / result["requests"]
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+", metavar="LABEL=PATH")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {}
    for spec in args.binaries:
        label, path = spec.split("=", 1)
        run.BIN = Path(path)
        db = f"consultores_bench_fresh_key_{label}"
        svc = run.Service(run.fresh_pg_database(db), port=PORT)
        run.seed(svc, 50, pt_share=0.6)
        pairs = []
        for _ in range(args.repeat):
            run.checkpoint(db)
            plain = measured(svc, False, args.duration)
            run.checkpoint(db)
            keyed = measured(svc, True, args.duration)
            pairs.append({"plain": plain, "keyed": keyed, "ratio": keyed["rps"] / plain["rps"]})
            print(label, f"plain {plain['rps']:.0f} keyed {keyed['rps']:.0f} "
                  f"ratio {pairs[-1]['ratio']:.3f}", flush=True)
        svc.stop()
        results[label] = pairs
    (run.BENCH / "results").mkdir(exist_ok=True)
    (run.BENCH / "results" / "fresh_key.json").write_text(
        json.dumps({"results": results, "commands": run.LOG}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
