#!/usr/bin/env python3
"""Instructions the service executes per request, for one or more binaries side by side.

Instruction counts do not depend on the machine's load, so a change of a few percent shows
where wall-clock figures on a shared machine cannot. For each binary and each data set the
database is seeded through the API by the binary itself running normally, then the binary is
restarted under `valgrind --tool=callgrind` (every thread of the service counted, PostgreSQL
and the kernel not) and, for each path: 16 warm-up requests, a dump that zeroes the counters, N
requests from 8 clients at once, a dump. The idle cost of the same wall time (timers,
housekeeping threads), measured with no request once the start-up work has settled, is
subtracted.

Data sets (as bench/routing.py seeds them):
- `10000`: 10,000 online consultants, 60 % speak pt, no rules — `GET /consultores`;
- `10000_rules`: the same with rules for everyone (7 working periods each, half of the first
  6,000 with hours on another weekday, a leave) — `GET /consultores`; skipped for a binary
  marked `--pre-rules`;
- `50`: 50 consultants, 30 speak pt — `GET /consultores` and `GET /consultor/{id}`.

Usage:
  python3 bench/instructions.py [--requests-large N] [--requests-small N] [--only SETS]
      [--pre-rules LABEL=PATH] LABEL=PATH [LABEL=PATH ...]
A binary given with --pre-rules is one from before the routing rules (consultants registered
with POST then the connection switch). Writes bench/results/instructions.json.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import routing  # noqa: E402  (bench/routing.py)
import run  # noqa: E402  (bench/run.py)

DATABASE = "consultores_bench_instructions"
CLIENTS = 8
PORT = 18093  # not run.py's default, so another benchmark may run beside this one


def seed_pre_rules(svc, count, body_of):
    def one(i):
        c = svc.call("POST", "/consultor", {"nome": f"Consultor {i:05d}", "idiomas": body_of(i)["idiomas"]})
        svc.call("PUT", f"/consultor/{c['id']}/connection?status=true", {})
        return c["id"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return sorted(pool.map(one, range(count)))


DATA_SETS = {
    "10000": (10000, lambda i: routing.ten_thousand(i, False), ["/consultores"]),
    "10000_rules": (10000, lambda i: routing.ten_thousand(i, True), ["/consultores"]),
    "50": (50, routing.fifty, ["/consultores", "/consultor/{id}"]),
}


def get(svc, path):
    """The body of `GET path`; a listing under callgrind on a loaded machine may take minutes."""
    request = urllib.request.Request(svc.base + path, headers={"api-key": run.KEY})
    with urllib.request.urlopen(request, timeout=900) as answer:
        if answer.status != 200:
            raise RuntimeError(f"GET {path}: {answer.status}")
        return answer.read()


class Callgrind:
    """The service under callgrind, with dumps on demand."""

    def __init__(self, url):
        self.dir = tempfile.mkdtemp(prefix="consultores-callgrind-")
        prefix = ["valgrind", "--tool=callgrind", "--quiet",
                  f"--callgrind-out-file={self.dir}/cg.%p"]
        # Everything runs ~50× slower: no database deadline may cut a request short.
        slow = {"DB_POOL_TIMEOUT_MS": "600000", "DB_STATEMENT_TIMEOUT_MS": "3600000"}
        self.svc = run.Service(url, port=PORT, extra_env=slow, prefix=prefix, ready_within_s=600)

    def dump(self):
        """Dumps (and zeroes) the counters; the instructions since the last dump."""
        before = set(glob.glob(f"{self.dir}/cg.*"))
        # vgdb names its rendezvous file after HOST and USER: call it with the service's.
        env = {"PATH": os.environ["PATH"], "HOST": "127.0.0.1"}
        subprocess.run(["callgrind_control", "-d", str(self.svc.proc.pid)], check=True,
                       capture_output=True, timeout=600, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            new = set(glob.glob(f"{self.dir}/cg.*.*")) - before
            totals = [re.search(r"^totals:\s*(\d+)", open(path).read(), re.M) for path in new]
            if new and all(totals):
                for path in new:
                    os.remove(path)
                return sum(int(m.group(1)) for m in totals)
            time.sleep(0.05)
        raise RuntimeError("callgrind wrote no dump")

    def calls(self, path, n):
        # Several clients at once, so the window (and the idle cost subtracted) stays short.
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda _: get(self.svc, path), range(n)))

    def per_request(self, path, n):
        """The raw count of `n` requests after a warm-up (threads and connections started)."""
        self.calls(path, 2 * CLIENTS)
        self.dump()
        started = time.perf_counter()
        self.calls(path, n)
        elapsed = time.perf_counter() - started
        return {"raw_total": self.dump(), "requests": n, "elapsed_s": elapsed}

    def idle_per_s(self, seconds=3.0):
        self.dump()
        started = time.perf_counter()
        time.sleep(seconds)
        total = self.dump()
        return total / (time.perf_counter() - started)

    def settled_idle_per_s(self, below=1_000_000, tries=10):
        rate = self.idle_per_s(2.0)
        for _ in range(tries):
            if rate < below:
                break
            rate = self.idle_per_s(2.0)
        return rate

    def stop(self):
        self.svc.proc.terminate()
        try:
            self.svc.proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self.svc.proc.kill()
            self.svc.proc.wait()
        self.svc.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def measure(binary, pre_rules, data_set, requests_large, requests_small):
    count, body_of, paths = DATA_SETS[data_set]
    url = run.fresh_pg_database(DATABASE)
    current, run.BIN = run.BIN, binary
    try:
        svc = run.Service(url, port=PORT)
        try:
            ids = (seed_pre_rules if pre_rules else routing.seed)(svc, count, body_of)
        finally:
            svc.stop()
        run.psql(DATABASE, "ANALYZE")
        cg = Callgrind(url)
    finally:
        run.BIN = current
    try:
        # The idle cost (timers, housekeeping) once the start-up work has settled, before and
        # after; the lower of the two is subtracted.
        idle = [cg.settled_idle_per_s()]
        out = {}
        for path in paths:
            n = requests_large if count > 1000 else requests_small
            out[path] = (path.replace("{id}", str(ids[len(ids) // 2])), n)
        measured = {path: cg.per_request(actual, n) for path, (actual, n) in out.items()}
        idle.append(cg.idle_per_s())
        rate = min(idle)
        for figures in measured.values():
            figures["instructions"] = round((figures["raw_total"] - rate * figures["elapsed_s"])
                                            / figures["requests"])
        measured["idle_instructions_per_s"] = [round(i) for i in idle]
        return measured
    finally:
        cg.stop()
        run.psql("postgres", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def same_bodies(binaries, data_set):
    """Seeds `data_set` with the first binary, then asks each binary in turn for the paths on
    that one database; True when every binary answered the same bytes."""
    count, body_of, paths = DATA_SETS[data_set]
    database = DATABASE + "_bodies"
    url = run.fresh_pg_database(database)
    current = run.BIN
    bodies = {}
    try:
        for index, binary in enumerate(binaries):
            run.BIN = binary
            svc = run.Service(url, port=PORT + 1)
            try:
                if index == 0:
                    ids = routing.seed(svc, count, body_of)
                for path in paths:
                    body = get(svc, path.replace("{id}", str(ids[len(ids) // 2])))
                    bodies.setdefault(path, set()).add(body)
            finally:
                svc.stop()
    finally:
        run.BIN = current
        run.psql("postgres", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return all(len(answers) == 1 for answers in bodies.values())


def main():
    global PORT, DATABASE
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="*", metavar="LABEL=PATH")
    parser.add_argument("--pre-rules", action="append", default=[], metavar="LABEL=PATH")
    parser.add_argument("--requests-large", type=int, default=4)
    parser.add_argument("--requests-small", type=int, default=400)
    parser.add_argument("--only", default=",".join(DATA_SETS), help="comma-separated data sets")
    parser.add_argument("--out", default="instructions", help="bench/results/<OUT>.json")
    parser.add_argument("--same-bodies", action="store_true",
                        help="only check that the binaries (not --pre-rules) answer the same bytes")
    parser.add_argument("--port", type=int, default=PORT,
                        help="of the service (and the next one); names the scratch database too")
    args = parser.parse_args()
    PORT, DATABASE = args.port, f"{DATABASE}_{args.port}"
    if args.same_bodies:
        paths = [spec.split("=", 1)[1] for spec in args.binaries]
        for data_set in args.only.split(","):
            same = same_bodies(paths, data_set)
            print(data_set, "same bytes" if same else "DIFFERENT BYTES", flush=True)
            if not same:
                return 1
        return 0
    if not shutil.which("valgrind"):
        subprocess.run(["apt-get", "install", "-y", "-q", "valgrind"], check=True)
    binaries = [(spec, False) for spec in args.binaries] + [(spec, True) for spec in args.pre_rules]
    results = {}
    for spec, pre_rules in binaries:
        label, path = spec.split("=", 1)
        results[label] = {}
        for data_set in args.only.split(","):
            if pre_rules and data_set == "10000_rules":
                continue
            results[label][data_set] = measure(path, pre_rules, data_set, args.requests_large,
                                               args.requests_small)
            print(label, data_set, json.dumps(results[label][data_set]), flush=True)
    table = {}
    for label, sets in results.items():
        for data_set, paths in sets.items():
            for path, figures in paths.items():
                if isinstance(figures, dict):
                    table.setdefault(f"{data_set} GET {path}", {})[label] = figures["instructions"]
    print(f"{'instructions per request':<40}" + "".join(f"{label:>16}" for label in results))
    for row, by_label in table.items():
        print(f"{row:<40}" + "".join(f"{by_label.get(label, ''):>16,}" if label in by_label else f"{'':>16}"
                                     for label in results))
    (run.BENCH / "results").mkdir(exist_ok=True)
    (run.BENCH / "results" / f"{args.out}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
