#!/usr/bin/env python3
"""Throughput side by side in one run: two builds of the service (e.g. the branch's base and
the branch), pgbench's one-assignment-per-transaction function, and the listing's memory.

Usage: python3 bench/throughput.py --before PATH --after PATH [--duration S] [--repeat N]

Both binaries must be release builds. For each repetition, in this order: for each binary, on
PostgreSQL (fresh database, 50 consultants, 30 speak pt; a vacuum and a checkpoint before each
measurement) da-vez at 16 and 64 connections, da-vez with a fresh Idempotency-Key per call at
16, GET /consultores at 64; on SQLite (fresh
file, same consultants) da-vez at 16 and GET /consultores at 64; on PostgreSQL with 10,000
consultants GET /consultores at 16 connections and the process's peak RSS. Then pgbench on
bench/assign_function.sql at 16 and 64 clients. Raw figures and commands go to
bench/results/throughput.json.
"""

import argparse
import json
import sys
import tempfile
import shutil
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (the helpers of bench/run.py)

BENCH = run.BENCH


def wrk_script(service, path, connections, duration, script):
    cmd = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
           "-H", f"api-key: {run.KEY}", "-s", str(BENCH / script), service.base + path]
    out = run.sh(cmd)
    result = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    run.LOG.append((run.recorded(cmd), result))
    return result


def add_consultants_sql(db, count):
    """`count` more online consultants, 60 % speaking pt, straight into the tables."""
    run.psql(db, f"""
        WITH novos AS (
            INSERT INTO consultores (nome, status_ativo, status_ativo_sequencial, status_online)
            SELECT 'Consultor extra ' || g, true, true, true FROM generate_series(1, {count}) g
            RETURNING id)
        INSERT INTO consultor_idiomas (consultor_id, idioma, posicao)
        SELECT id, CASE WHEN id % 10 < 6 THEN 'pt' ELSE 'en' END, 0 FROM novos;
        ANALYZE;""")


def one_binary(label, binary, d, out, port):
    run.BIN = Path(binary)
    r = out.setdefault(label, {})
    db = f"consultores_tp_{label}"
    svc = run.Service(run.fresh_pg_database(db), port=port)
    run.seed(svc, 50, pt_share=0.6)
    run.checkpoint(db)
    r["pg_da_vez_16"] = run.wrk(svc, "/consultor/da-vez?idioma=pt", 16, d)
    run.checkpoint(db)
    r["pg_da_vez_64"] = run.wrk(svc, "/consultor/da-vez?idioma=pt", 64, d)
    run.checkpoint(db)
    r["pg_da_vez_key_16"] = wrk_script(svc, "/consultor/da-vez?idioma=pt", 16, d, "fresh_key.lua")
    run.checkpoint(db)
    r["pg_consultores_50_64"] = run.wrk(svc, "/consultores", 64, d)
    r["pg_peak_rss_mb"] = svc.peak_rss_mb()
    svc.stop()

    tmp = Path(tempfile.mkdtemp(prefix="consultores-tp-sqlite-"))
    svc = run.Service(f"sqlite://{tmp / 'bench.db'}", port=port)
    run.seed(svc, 50, pt_share=0.6)
    r["sqlite_da_vez_16"] = run.wrk(svc, "/consultor/da-vez?idioma=pt", 16, d)
    r["sqlite_consultores_50_64"] = run.wrk(svc, "/consultores", 64, d)
    svc.stop()
    shutil.rmtree(tmp)

    db10k = f"consultores_tp_{label}_10k"
    svc = run.Service(run.fresh_pg_database(db10k), port=port)
    run.seed(svc, 10, pt_share=0.6)
    add_consultants_sql(db10k, 9_990)
    r["pg_consultores_10k_16"] = run.wrk(svc, "/consultores", 16, d)
    r["pg_consultores_10k_peak_rss_mb"] = svc.peak_rss_mb()
    svc.stop()
    run.psql("postgres", f"DROP DATABASE IF EXISTS {db10k} WITH (FORCE)")
    return db


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    d = args.duration
    runs = []
    for n in range(args.repeat):
        out = {}
        one_binary("before", args.before, d, out, 18081)
        db = one_binary("after", args.after, d, out, 18082)
        # pgbench on the after database's schema, the same 50 consultants.
        run.psql(db, "DELETE FROM protocolos; UPDATE controle_protocolo SET ultimo_numero = 0 WHERE id = 1;")
        run.psql(db, (BENCH / "assign_function.sql").read_text())
        run.checkpoint(db)
        out["pgbench_16"] = run.pgbench(db, 16, d)
        run.checkpoint(db)
        out["pgbench_64"] = run.pgbench(db, 64, d)
        for c in (16, 64):
            out[f"ratio_after_pgbench_{c}"] = out["after"][f"pg_da_vez_{c}"]["rps"] / out[f"pgbench_{c}"]["tps"]
            out[f"ratio_before_pgbench_{c}"] = out["before"][f"pg_da_vez_{c}"]["rps"] / out[f"pgbench_{c}"]["tps"]
        for label in ("before", "after"):
            r = out[label]
            r["key_over_plain_16"] = r["pg_da_vez_key_16"]["rps"] / r["pg_da_vez_16"]["rps"]
        out["sqlite_after_over_before_16"] = out["after"]["sqlite_da_vez_16"]["rps"] / out["before"]["sqlite_da_vez_16"]["rps"]
        runs.append(out)
        print(json.dumps(out, indent=2), flush=True)
    (BENCH / "results").mkdir(exist_ok=True)
    (BENCH / "results" / "throughput.json").write_text(
        json.dumps({"duration_s": d, "runs": runs, "commands": run.LOG}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
