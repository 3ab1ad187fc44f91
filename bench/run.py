#!/usr/bin/env python3
"""Load and capacity benchmarks of the consultores service, side by side with PostgreSQL itself.

Usage: python3 bench/run.py [--duration SECONDS] [--skip-build]

Builds the release binary, starts it against a fresh PostgreSQL database and a fresh SQLite file,
seeds consultants through the API, drives it with wrk, runs pgbench on the PL/pgSQL function of
bench/assign_function.sql (the same assignment with no HTTP and no application in front), and
writes every figure with the commands that produced it to bench/RESULTS.md.
"""

import argparse
import concurrent.futures
import json
import re
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(os.environ.get("CONSULTORES_BIN", ROOT / "target/release/consultores"))
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", "5432", os.environ.get("PGUSER", "postgres")
KEY = "bench-key"
LOG = []  # (command, result) pairs for RESULTS.md


def recorded(cmd):
    """The command as it is recorded: paths relative to the repository, temp dirs named."""
    text = " ".join(cmd).replace(str(ROOT) + "/", "")
    return re.sub(r"--log-prefix=\S+", "--log-prefix=<tmp>/tx", text)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def psql(db, sql):
    return sh(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-p", PG_PORT,
               "-U", PG_USER, "-d", db, "-c", sql])


def checkpoint(db):
    """A vacuum and a checkpoint before each measurement.

    The checkpoint: right after one, every first write of a page logs the whole page (full-page
    writes), so a measurement that a checkpoint happens to precede pays several times the WAL of
    one that it does not. Seeding 10,000 consultants triggers one; without this, which scenario
    paid for it was chance (seen: the same binary's da-vez 30 % apart).

    The vacuum: the project's machine runs PostgreSQL with `autovacuum = off`, so the dead row
    versions and index entries every assignment leaves (the consultant's row, its queue entries)
    pile up from one measurement to the next, and each measurement would pay for all the ones
    before it (seen: the 50-consultant listing after three assignment runs at about half its speed
    on a fresh database). A server with autovacuum on (PostgreSQL's default) cleans a table that
    small within a minute; each measurement starts from that state."""
    psql(db, "VACUUM ANALYZE")
    psql(db, "CHECKPOINT")


def fresh_pg_database(name):
    psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql("postgres", f"CREATE DATABASE {name}")
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


class Service:
    def __init__(self, database_url, port=18080, extra_env=None, prefix=(), ready_within_s=60):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        env = {"PATH": os.environ["PATH"], "DATABASE_URL": database_url, "AUTHENTICATION_API_KEY": KEY,
               "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "info", "DB_POOL_SIZE": "16"}
        env.update(extra_env or {})
        self.log = open(tempfile.mktemp(prefix="consultores-bench-", suffix=".log"), "w")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([*prefix, str(BIN), "serve"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.ready_after_ms = self.wait_ready(ready_within_s)

    def wait_ready(self, within_s=60):
        deadline = time.perf_counter() + within_s
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/ready", timeout=1) as r:
                    if r.status == 200:
                        return (time.perf_counter() - self.started) * 1000
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.002)
        raise RuntimeError(f"service not ready after {within_s} s")

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"api-key": KEY, "content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def peak_rss_mb(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


def seed(service, count, pt_share=1.0):
    """Registers `count` consultants through the API and switches them online."""
    def one(i):
        languages = ["pt", "en"] if i < count * pt_share else ["en", "es"]
        c = service.call("POST", "/consultor", {"nome": f"Consultor {i:05d}", "idiomas": languages})
        service.call("PUT", f"/consultor/{c['id']}/connection?status=true", {})
        return c["id"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return sorted(pool.map(one, range(count)))


def wrk(service, path, connections, duration):
    cmd = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
           "-H", f"api-key: {KEY}", "-s", str(BENCH / "report.lua"), service.base + path]
    out = sh(cmd)
    result = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    LOG.append((recorded(cmd), result))
    return result


def pgbench(db, clients, duration):
    logdir = Path(tempfile.mkdtemp(prefix="pgbench-"))
    cmd = ["pgbench", "-n", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, f"-c{clients}",
           f"-j{min(2, clients)}", f"-T{duration}", "-f", str(BENCH / "pgbench_assign.sql"),
           "--log", f"--log-prefix={logdir}/tx", db]
    out = sh(cmd)
    tps = next(float(l.split("=")[1].split()[0]) for l in out.splitlines() if l.startswith("tps ="))
    latencies = []
    for f in logdir.iterdir():
        for line in f.read_text().splitlines():
            latencies.append(int(line.split()[2]) / 1000)  # µs → ms
    shutil.rmtree(logdir)
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))]
    result = {"tps": tps, "p50_ms": q(0.50), "p99_ms": q(0.99), "p999_ms": q(0.999), "transactions": len(latencies)}
    LOG.append((recorded(cmd), result))
    return result


def fill_protocols_pg(db, total, consultant_ids):
    lo, hi = consultant_ids[0], consultant_ids[-1]
    psql(db, f"""
        INSERT INTO protocolos (numero, consultor_id, idioma, prioridade, status, created_at, updated_at)
        SELECT '#' || CASE WHEN c.n + g < 100000 THEN lpad((c.n + g)::text, 5, '0') ELSE (c.n + g)::text END, {lo} + (g % ({hi} - {lo} + 1)), 'pt', 'normal', 'aberto', now(), now()
        FROM generate_series(1, {total}) g, (SELECT ultimo_numero AS n FROM controle_protocolo WHERE id = 1) c;
        UPDATE controle_protocolo SET ultimo_numero = ultimo_numero + {total} WHERE id = 1;
        ANALYZE;""")


def fill_protocols_sqlite(path, total, consultant_ids):
    con = sqlite3.connect(path, timeout=30)
    (start,) = con.execute("SELECT ultimo_numero FROM controle_protocolo WHERE id = 1").fetchone()
    stamp = "2026-01-01T00:00:00.000000+00:00"
    span = len(consultant_ids)
    rows = ((f"#{start + g:05d}", consultant_ids[g % span], "pt", "normal", "aberto", stamp, stamp)
            for g in range(1, total + 1))
    con.executemany("INSERT INTO protocolos (numero, consultor_id, idioma, prioridade, status, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("UPDATE controle_protocolo SET ultimo_numero = ultimo_numero + ? WHERE id = 1", (total,))
    con.commit()
    con.execute("ANALYZE")
    con.close()


def bench_backend(name, make_url, fill, duration, results):
    url, fill_target = make_url()
    svc = Service(url)
    ids = seed(svc, 50, pt_share=0.6)  # 30 of 50 speak pt
    r = results.setdefault(name, {})
    r["da_vez_16"] = wrk(svc, "/consultor/da-vez?idioma=pt", 16, duration)
    r["peak_rss_mb_after_16"] = svc.peak_rss_mb()
    r["da_vez_64"] = wrk(svc, "/consultor/da-vez?idioma=pt", 64, duration)
    r["da_vez_1"] = wrk(svc, "/consultor/da-vez?idioma=pt", 1, duration)
    r["peak_rss_mb"] = svc.peak_rss_mb()
    ids += seed(svc, 950, pt_share=0.6)
    r["consultores_1000_16"] = wrk(svc, "/consultores", 16, duration)
    svc.stop()
    fill(fill_target, 1_000_000, ids)
    svc = Service(url)
    r["ready_after_ms"] = svc.ready_after_ms
    r["protocolos_1m_16"] = wrk(svc, f"/protocolos?consultor_id={ids[len(ids) // 2]}&limit=100", 16, duration)
    r["peak_rss_mb_protocolos"] = svc.peak_rss_mb()
    svc.stop()
    return url


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "consultores"], cwd=ROOT, check=True)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    d = args.duration
    results = {"duration_s": d, "cpus": os.cpu_count()}

    # PostgreSQL: the service, then pgbench on the same database, pool and function.
    db = "consultores_bench"
    pg_url = bench_backend("postgres", lambda: (fresh_pg_database(db), db), fill_protocols_pg, d, results)
    psql(db, "DELETE FROM protocolos; UPDATE controle_protocolo SET ultimo_numero = 0 WHERE id = 1;"
             " UPDATE consultores SET status_online = (id <= (SELECT min(id) + 49 FROM consultores));")
    psql(db, (BENCH / "assign_function.sql").read_text())
    svc = Service(pg_url)
    side = results["side_by_side"] = {}
    for clients in (1, 16, 64):
        side[f"service_{clients}"] = wrk(svc, "/consultor/da-vez?idioma=pt", clients, d)
        side[f"pgbench_{clients}"] = pgbench(db, clients, d)
        side[f"ratio_{clients}"] = side[f"service_{clients}"]["rps"] / side[f"pgbench_{clients}"]["tps"]
    svc.stop()

    # Latency against pool size: 10 to 10,000 consultants, all eligible.
    curve = results["curve"] = {}
    for n in (10, 100, 1000, 10000):
        svc = Service(fresh_pg_database("consultores_bench_curve"))
        seed(svc, n)
        curve[str(n)] = wrk(svc, "/consultor/da-vez?idioma=pt", 16, d)
        svc.stop()
    psql("postgres", "DROP DATABASE IF EXISTS consultores_bench_curve WITH (FORCE)")

    # SQLite, the embedded default.
    tmp = Path(tempfile.mkdtemp(prefix="consultores-bench-sqlite-"))
    sqlite_file = tmp / "bench.db"
    bench_backend("sqlite", lambda: (f"sqlite://{sqlite_file}", str(sqlite_file)), fill_protocols_sqlite, d, results)
    shutil.rmtree(tmp)

    (BENCH / "results").mkdir(exist_ok=True)
    (BENCH / "results" / "latest.json").write_text(json.dumps({"results": results, "commands": LOG}, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
