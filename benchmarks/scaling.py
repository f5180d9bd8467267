"""Scaling on one database: server runs per second with 1, 2 and 4 ``serve`` processes on
PostgreSQL versus 1 on SQLite, and a kill-one-process-under-load trial.

    python -m benchmarks.scaling --postgres-url postgresql://user@127.0.0.1:5432/db [--quick]

Each configuration is ``assistant-graph serve --workers N`` with the offline model (a fixed
model latency, ``MODEL_LATENCY_MS``), driven by ``CLIENTS`` threads of the real SDK, each
creating a thread-and-run and polling it to completion. On a 2-core machine the ratio between
1 and N processes says how much the coordination through the database costs, not how far the
server scales: N processes share the same two cores.

The kill trial runs two ``serve`` processes on PostgreSQL, sends runs to both (every create
carries an ``Idempotency-Key``; a client whose server died retries on the other one with the
same key), SIGKILLs one mid-load, and counts runs lost (not completed) and runs executed
twice (more than one answer), both expected 0, and the time the takeover took.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import sqlalchemy

MODEL_LATENCY_MS = 50
CLIENTS = 8
POLL_MS = 20


def start_server(database_url: str, home: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """Start ``serve`` on a free port; return the process and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant_graph.assistants_server.cli", "--port", "0",
         "--database-url", database_url, "--backend", "offline",
         "--offline-latency-ms", str(MODEL_LATENCY_MS), "--log-level", "error", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "ASSISTANT_GRAPH_HOME": str(home)}, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"serve did not start: {line!r}")
    return proc, line.split("listening on ", 1)[1].split(" ", 1)[0]


def stop(proc: subprocess.Popen) -> None:
    """Stop a server and its worker processes."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=60)


def runs_per_second(database_url: str, processes: int, runs: int, home: Path) -> float:
    """Completed runs per second through ``serve --workers processes`` on ``database_url``."""
    proc, url = start_server(database_url, home, "--workers", str(processes))
    client = _client(url)
    try:
        assistant = client.beta.assistants.create(model="m")

        def one(index: int) -> None:
            run = client.beta.threads.create_and_run_poll(
                assistant_id=assistant.id,
                thread={"messages": [{"role": "user", "content": f"hello {index}"}]},
                poll_interval_ms=POLL_MS,
            )
            if run.status != "completed":
                raise RuntimeError(f"run {run.id} ended {run.status}")

        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(one, range(CLIENTS)))  # warm-up: every worker has opened the store
            started = time.perf_counter()
            list(pool.map(one, range(runs)))
            return runs / (time.perf_counter() - started)
    finally:
        client.close()
        stop(proc)


def kill_trial(database_url: str, runs: int, home: Path) -> dict[str, Any]:
    """Two servers under load, one SIGKILLed mid-way: runs lost, runs executed twice."""
    servers = [start_server(database_url, home / name) for name in ("a", "b")]
    clients = [_client(url) for _proc, url in servers]
    dead = [False, False]
    try:
        assistant = clients[1].beta.assistants.create(model="m")

        def call(index: int, action: Any) -> Any:
            """Run ``action(client)`` on the client's server, or the other one once it died."""
            for _ in range(600):
                side = index % 2 if not dead[index % 2] else 1 - index % 2
                try:
                    return action(clients[side])
                except (openai.APIConnectionError, openai.APITimeoutError):
                    time.sleep(0.05)
                except openai.ConflictError:  # the key's first request is still in flight
                    time.sleep(0.05)
            raise RuntimeError("no server answered for 30 s")

        def one(index: int) -> str:
            key = {"Idempotency-Key": f"kill-trial-{index}"}
            run = call(index, lambda c: c.beta.threads.create_and_run(
                assistant_id=assistant.id,
                thread={"messages": [{"role": "user", "content": f"run {index}"}]},
                extra_headers=key,
            ))  # fmt: skip
            run_id, thread_id = run.id, run.thread_id
            for _ in range(6000):
                status = call(index, lambda c: c.beta.threads.runs.retrieve(
                    run_id, thread_id=thread_id).status)  # fmt: skip
                if status not in ("queued", "in_progress"):
                    return str(run_id)
                time.sleep(POLL_MS / 1000)
            raise RuntimeError(f"run {run_id} stayed {status}")

        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(one, index) for index in range(runs)]
            while sum(future.done() for future in futures) < runs // 3:
                time.sleep(0.01)
            killed_at = time.perf_counter()
            os.killpg(servers[0][0].pid, signal.SIGKILL)
            servers[0][0].wait()
            dead[0] = True
            run_ids = [future.result() for future in futures]
            recovered_s = time.perf_counter() - killed_at
    finally:
        for client in clients:
            client.close()
        for proc, _url in servers:
            stop(proc)
    engine = sqlalchemy.create_engine(database_url)
    with engine.connect() as conn:
        statuses = dict(conn.execute(sqlalchemy.text("SELECT id, status FROM runs")).all())
        answers = dict(conn.execute(sqlalchemy.text(
            "SELECT run_id, COUNT(*) FROM messages WHERE role = 'assistant' GROUP BY run_id"
        )).all())  # fmt: skip
    engine.dispose()
    return {
        "runs": runs,
        "distinct_runs": len(set(run_ids)),
        "runs_in_database": len(statuses),
        "lost": sum(statuses.get(run_id) != "completed" for run_id in set(run_ids)),
        "executed_twice": sum(count > 1 for count in answers.values()),
        "seconds_from_kill_to_last_run_done": round(recovered_s, 2),
    }


def fresh_postgres_database(url: str, name: str) -> str:
    """Create database ``name`` on ``url``'s server (dropped first); return its SQLAlchemy URL."""
    import psycopg

    base = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return sqlalchemy.make_url(base).set(drivername="postgresql+psycopg", database=name)\
        .render_as_string(hide_password=False)  # fmt: skip


def measure(postgres_url: str, quick: bool = False) -> dict[str, Any]:
    """Every figure of this benchmark, as a JSON-ready dictionary."""
    runs = 8 if quick else 80
    results: dict[str, Any] = {"model_latency_ms": MODEL_LATENCY_MS, "clients": CLIENTS,
                               "runs": runs, "cpus": os.cpu_count()}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        sqlite = f"sqlite:///{home / 'bench.sqlite3'}"
        results["sqlite_1_process_runs_per_s"] = round(runs_per_second(sqlite, 1, runs, home), 1)
        for processes in (1, 2, 4):
            database = fresh_postgres_database(postgres_url, f"bench_scaling_{processes}")
            rate = runs_per_second(database, processes, runs, home)
            results[f"postgres_{processes}_processes_runs_per_s"] = round(rate, 1)
        database = fresh_postgres_database(postgres_url, "bench_scaling_kill")
        results["kill_trial"] = kill_trial(database, 16 if quick else 80, home)
    return results


def main(argv: list[str] | None = None) -> int:
    """Measure and print the figures as JSON (and write them to ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__)
    parser.add_argument("--postgres-url", required=True, help="a server to create databases on")
    parser.add_argument("--quick", action="store_true", help="few runs (smoke test)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    results = measure(args.postgres_url, args.quick)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
