#!/usr/bin/env python3
"""da-vez over consecutive windows without a VACUUM in between, at 50 and at 10,000 consultants
(PostgreSQL, no rules, as bench/routing.py seeds them), for one or more binaries.

Every assignment leaves a dead entry just before the head of its language's queue index; a
measurement that starts right after a VACUUM (bench/run.py's `checkpoint`) hides what builds up
after it. This one starts from a VACUUM and a checkpoint, then measures `--windows` windows of
`--duration` seconds back to back: a flat series is cost that does not grow with the assignments
made; the head index's size is printed after.

Usage: python3 bench/queue_decay.py [--duration S] [--windows N] LABEL=PATH [LABEL=PATH ...]
Writes bench/results/queue_decay.json.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import routing  # noqa: E402  (bench/routing.py)
import run  # noqa: E402  (bench/run.py)

PORT = 18095  # not run.py's default, so another benchmark may run beside this one


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+", metavar="LABEL=PATH")
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--windows", type=int, default=4)
    args = parser.parse_args()
    results = {}
    for spec in args.binaries:
        label, path = spec.split("=", 1)
        run.BIN = Path(path)
        for size, body in [(50, routing.fifty), (10000, lambda i: routing.ten_thousand(i, False))]:
            db = f"consultores_bench_decay_{size}"
            svc = run.Service(run.fresh_pg_database(db), port=PORT)
            routing.seed(svc, size, body)
            run.wrk(svc, "/consultor/da-vez?idioma=pt", 16, 1)
            run.checkpoint(db)
            windows = [run.wrk(svc, "/consultor/da-vez?idioma=pt", 16, args.duration)
                       for _ in range(args.windows)]
            svc.stop()
            pages = run.psql(db, "SELECT pg_relation_size('consultor_fila_cabeca_idx') / 8192").strip()
            results.setdefault(label, {})[str(size)] = {"windows": windows, "head_index_pages": int(pages)}
            print(label, size, [round(w["rps"]) for w in windows], "head index pages", pages, flush=True)
    (run.BENCH / "results").mkdir(exist_ok=True)
    (run.BENCH / "results" / "queue_decay.json").write_text(
        json.dumps({"results": results, "commands": run.LOG}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
