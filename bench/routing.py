#!/usr/bin/env python3
"""Routing rules under load, side by side in one run (PostgreSQL):

- da-vez with 50 consultants (30 speak pt) without rules, then with rules set for every one of
  them (peso 1 to 3, both limits, a time zone, all-week working hours, a leave in the future);
- da-vez with 10,000 consultants, 60 % of them speaking pt and half of those outside their
  working hours now, beside the 50 above;
- GET /consultores at 10,000 consultants with and without rules, and (with --old-bin) the same
  listing served by the binary from before the routing rules (the first-parent parent of the
  merge "Merge issue 12 (routing rules)", built in its own worktree with `cargo build --release`).

Each measurement first analyses the seeded tables, takes a checkpoint and answers one request of
each path (a warm-up: the first assignment after seeding applies every consultant's pending
availability evaluation at once). `--repeat N` runs every scenario N times and reports each run's
ratios and their medians.

Usage: python3 bench/routing.py [--duration SECONDS] [--repeat N] [--skip-build] [--old-bin PATH]
       [--out NAME]
Reuses bench/run.py's service, seeding and wrk helpers; writes bench/results/<NAME>.json
(default routing.json).
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py)

ALL_WEEK = [{"dia": d, "inicio": "00:00", "fim": "24:00"} for d in range(1, 8)]


def rules(i):
    return {"peso": 1 + i % 3, "limite_diario": 10000, "limite_abertos": 10000,
            "fuso_horario": "America/Sao_Paulo", "horarios": ALL_WEEK,
            "ausencias": [{"de": "2030-01-01", "ate": "2030-01-15"}]}


def another_day():
    """An ISO weekday that is not today in São Paulo, whatever the hour."""
    local = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=3)
    return (local + datetime.timedelta(days=3)).isoweekday()


def seed(service, count, body_of):
    """Registers `count` online consultants in one call each, with `body_of(i)` merged in."""
    def one(i):
        body = {"nome": f"Consultor {i:05d}", "status_online": True}
        body.update(body_of(i))
        return service.call("POST", "/consultor", body)["id"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return sorted(pool.map(one, range(count)))


def fifty(i):
    return {"idiomas": ["pt", "en"] if i < 30 else ["en", "es"]}


def ten_thousand(i, with_rules):
    body = {"idiomas": ["pt", "en"] if i < 6000 else ["en", "es"]}
    if with_rules:
        body.update(rules(i))
        if i < 3000:
            body["horarios"] = [{"dia": another_day(), "inicio": "09:00", "fim": "18:00"}]
    return body


def analyze(name):
    """Statistics for the freshly seeded tables: without them PostgreSQL plans a listing page
    (`id > $1 ORDER BY id LIMIT 256`) as a sequential scan and a sort, 6 ms instead of 0.4 ms at
    10,000 consultants, until autovacuum gets to the table during the measurement."""
    run.psql(name, "ANALYZE")


def warm_up(svc, paths):
    for _, path in paths:
        try:
            svc.call("GET", path)
        except urllib.error.HTTPError:
            pass


def measured(svc, name, seed_all, d, paths):
    """Seeds through `seed_all`, then measures `paths` on `svc`; stops it and drops its database."""
    try:
        seed_all()
        analyze(name)
        run.checkpoint(name)
        warm_up(svc, paths)
        return {label: run.wrk(svc, path, 16, d) for label, path in paths}
    finally:
        svc.stop()
        run.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def measure(name, body_of, count, d, paths):
    svc = run.Service(run.fresh_pg_database(name))
    return measured(svc, name, lambda: seed(svc, count, body_of), d, paths)


def measure_old(old_bin, name, count, d, paths):
    """The listing on the binary from before the routing rules: consultants registered the way
    that release knows (POST, then the connection switch), the same languages as ten_thousand."""
    current, run.BIN = run.BIN, old_bin
    try:
        svc = run.Service(run.fresh_pg_database(name))
    finally:
        run.BIN = current

    def one(i):
        c = svc.call("POST", "/consultor", {"nome": f"Consultor {i:05d}",
                                            "idiomas": ten_thousand(i, False)["idiomas"]})
        svc.call("PUT", f"/consultor/{c['id']}/connection?status=true", {})

    def seed_all():
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(count)))
    return measured(svc, name, seed_all, d, paths)


def one_run(d, old_bin, only_50):
    """Every scenario once, in a fixed order, with the ratios of this run."""
    da_vez = [("da_vez", "/consultor/da-vez?idioma=pt")]
    listing = [("consultores", "/consultores")]
    r = {}
    r["50_without_rules"] = measure("consultores_bench_r1", fifty, 50, d, da_vez)
    r["50_with_rules"] = measure("consultores_bench_r2", lambda i: {**fifty(i), **rules(i)}, 50, d, da_vez)
    rps = lambda key, label: r[key][label]["rps"]
    ratios = {"da_vez_rules_over_no_rules_50": rps("50_with_rules", "da_vez") / rps("50_without_rules", "da_vez")}
    if not only_50:
        r["10000_mixed_with_rules"] = measure("consultores_bench_r3", lambda i: ten_thousand(i, True), 10000, d,
                                              listing + da_vez)
        r["10000_without_rules"] = measure("consultores_bench_r4", lambda i: ten_thousand(i, False), 10000, d,
                                           listing + da_vez)
        ratios["da_vez_10000_mixed_over_50"] = \
            rps("10000_mixed_with_rules", "da_vez") / rps("50_without_rules", "da_vez")
        ratios["consultores_10000_rules_over_no_rules"] = \
            rps("10000_mixed_with_rules", "consultores") / rps("10000_without_rules", "consultores")
        if old_bin:
            r["10000_old_binary"] = measure_old(old_bin, "consultores_bench_r5", 10000, d, listing)
            ratios["consultores_10000_old_over_no_rules"] = \
                rps("10000_old_binary", "consultores") / rps("10000_without_rules", "consultores")
            ratios["consultores_10000_old_over_rules"] = \
                rps("10000_old_binary", "consultores") / rps("10000_mixed_with_rules", "consultores")
    r["ratios"] = ratios
    return r


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1, help="runs of every scenario, one after another")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--only-50", action="store_true", help="only the two 50-consultant runs")
    parser.add_argument("--old-bin", help="the release binary from before the routing rules")
    parser.add_argument("--out", default="routing", help="bench/results/<OUT>.json")
    args = parser.parse_args()
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "consultores"],
                       cwd=run.ROOT, check=True)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    runs = [one_run(args.duration, args.old_bin, args.only_50) for _ in range(args.repeat)]
    medians = {name: statistics.median(run_["ratios"][name] for run_ in runs) for name in runs[0]["ratios"]}
    r = {"duration_s": args.duration, "cpus": os.cpu_count(), "runs": runs, "median_ratios": medians}
    (run.BENCH / "results").mkdir(exist_ok=True)
    (run.BENCH / "results" / f"{args.out}.json").write_text(json.dumps({"results": r, "commands": run.LOG}, indent=2))
    print(json.dumps(r, indent=2))

if __name__ == "__main__":
    sys.exit(main())
