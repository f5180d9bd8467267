"""File search: retrieval quality on the project's README, ingestion speed, search latency.

Quality: the README is split into passages (blank-line separated blocks), each indexed as its
own file of one vector store; :data:`QUESTIONS` ask about the README in other words than its
own, each naming a phrase that occurs in exactly one passage (its answer). recall@5 is the share
of questions whose answer passage is among the first five results, MRR the mean of 1/rank (0
when not returned). Only keyword ranking (FTS5 BM25) is measured: no embedding model can run
offline on this machine (none ships with a package installed here), so the hybrid path's
quality is not measured; its plumbing is tested with a stand-in endpoint in the test suite.

Speed: ingestion MB/s indexes README-sized documents through ``Retrieval.index_file`` (parse,
exact token chunking at 800/400, chunk rows and FTS5 index); search p50/p95 runs the questions
against stores of 1k and 100k chunks (synthetic chunks of README words, in README frequencies).

Engines: ``python -m benchmarks.retrieval --postgres-url postgresql://...`` measures quality and
1k-chunk search latency on SQLite (FTS5 BM25) and on PostgreSQL (full-text ``ts_rank_cd``) in
a fresh database on that server, and prints them as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.retrieval import Retrieval, resolve_strategy
from assistant_graph.assistants_server.retrieval.chunking import Chunk
from assistant_graph.assistants_server.retrieval.chunks import insert_chunks
from assistant_graph.assistants_server.store import Store
from sqlalchemy import insert

from benchmarks.figure import Figure
from benchmarks.harness import Options, percentile, rounded

NAME = "retrieval"
README = Path(__file__).resolve().parent.parent / "README.md"
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("Where are conversations stored on disk by default?", "conversations.sqlite3` (`--db`"),
    ("What exit status does the command line give when a run fails?", "| Exit code | Meaning |"),
    ("How do I switch from the offline model to a real one?", "To use a real model, export"),
    ("Why does the project read two separate sets of environment variables?", "Why two sets"),
    ("What happens to my turn when the network connection drops?", "the turn is not lost"),
    ("Are graph steps saved synchronously by default with a checkpointer?", "every step before"),
    ("Which exception do I get for input that cannot start a turn?", "graph.InvalidInputError"),
    ("How can my application verify its configuration when it starts?", "at start-up, `prepare"),
    ("How do asynchronous apps avoid blocking the event loop?", "Async apps use"),
    ("How can a person approve or reject tool calls before they execute?", "pauses before tools"),
    ("How do I change a tool call's arguments while the graph is paused?", "app.update_state(con"),
    ("What does the quickstart notebook demonstrate?", "notebooks/quickstart.ipynb"),
    ("Which statuses can a background run pass through?", "Runs execute in the background"),
    ("What error does a run report when the endpoint rejects the API key?", "after retries) |"),
    ("Is the offline backend an actual language model?", "is **not** a language model"),
    ("How does the scripted offline model choose which rule to play?", "`match` is a regex"),
    ("Do the tools use the network, the filesystem or eval?", "none uses `eval`"),
    ("How are tool failures reported back to the assistant?", "Tools raise `ToolException`"),
    ("What do the benchmarks compare the graph against?", "what a user would otherwise pick"),
    ("How do I run only the fast tests during development?", '-m "not slow"'),
)
"""(question, a phrase found in exactly one README passage: the answer)."""
MISSING_ANSWER = (
    "README passage for {question!r} not found exactly once (phrase {phrase!r} occurs in {n}); "
    "update benchmarks/retrieval.py QUESTIONS after editing the README."
)


def passages(text: str) -> list[str]:
    """The README's blank-line separated blocks with some text in them."""
    return [block.strip() for block in re.split(r"\n\s*\n", text) if len(block.strip()) > 20]


class _Bench:
    """A temporary store and retrieval engine (keyword ranking), on a private event loop."""

    def __init__(self, directory: str, url: str | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.store = Store(url or f"sqlite:///{directory}/bench.sqlite3")
        self.retrieval = Retrieval(self.store)
        self.run(self.store.open())

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def add_file(self, store_id: str, file_id: str, filename: str) -> None:
        def row(conn: Any) -> None:
            conn.execute(
                insert(db.vector_store_files).values(
                    vector_store_id=store_id,
                    id=file_id,
                    filename=filename,
                    status="completed",
                    created_at=0,
                    data={},
                )
            )

        self.run(self.store.write(row))

    def search(self, store_id: str, query: str) -> list[Any]:
        return self.run(self.retrieval.search([store_id], query, max_num_results=50))

    def close(self) -> None:
        self.run(self.store.close())
        self.loop.close()


def _quality(bench: _Bench) -> dict[str, Any]:
    blocks = passages(README.read_text(encoding="utf-8"))
    for number, block in enumerate(blocks):
        file_id = f"passage-{number}"
        bench.add_file("vs_readme", file_id, f"{file_id}.md")
        bench.run(
            bench.retrieval.index_file(
                "vs_readme", file_id, f"{file_id}.md", block.encode(), resolve_strategy(None)
            )
        )
    hits, reciprocal = 0, 0.0
    ranks = []
    for question, phrase in QUESTIONS:
        holders = [n for n, block in enumerate(blocks) if phrase in block]
        if len(holders) != 1:
            raise RuntimeError(
                MISSING_ANSWER.format(question=question, phrase=phrase, n=len(holders))
            )
        answer = f"passage-{holders[0]}"
        order = [result.file_id for result in bench.search("vs_readme", question)]
        rank = order.index(answer) + 1 if answer in order else 0
        ranks.append(rank)
        hits += 1 if 0 < rank <= 5 else 0
        reciprocal += 1 / rank if rank else 0.0
    return {
        "recall_at_5": hits / len(QUESTIONS),
        "mrr": reciprocal / len(QUESTIONS),
        "questions": len(QUESTIONS),
        "passages": len(blocks),
        "ranks": ranks,
    }


def _ingestion(bench: _Bench, files: int) -> dict[str, Any]:
    body = README.read_bytes()
    started = time.perf_counter()
    for number in range(files):
        file_id = f"doc-{number}"
        bench.add_file("vs_ingest", file_id, "README.md")
        bench.run(
            bench.retrieval.index_file(
                "vs_ingest", file_id, "README.md", body, resolve_strategy(None)
            )
        )
    seconds = time.perf_counter() - started
    megabytes = files * len(body) / 1e6
    return {"mb_per_s": megabytes / seconds, "megabytes": megabytes, "seconds": seconds}


def _synthetic_store(bench: _Bench, store_id: str, chunks: int, seed: int = 7) -> None:
    words = re.findall(r"[a-z]{3,}", README.read_text(encoding="utf-8").lower())
    counts = Counter(words)
    vocabulary, weights = list(counts), list(counts.values())
    rng = random.Random(seed)
    files = max(1, chunks // 1000)
    per_file = chunks // files
    for number in range(files):
        file_id = f"synthetic-{number}"
        bench.add_file(store_id, file_id, f"{file_id}.txt")
        pieces = [
            Chunk(" ".join(rng.choices(vocabulary, weights, k=150)), 200, 0, 0)
            for _ in range(per_file)
        ]
        bench.run(bench.store.write(insert_chunks, store_id, file_id, pieces))


def _latency(bench: _Bench, store_id: str, repetitions: int) -> dict[str, Any]:
    seconds = []
    for _ in range(repetitions):
        for question, _phrase in QUESTIONS:
            started = time.perf_counter()
            bench.search(store_id, question)
            seconds.append(time.perf_counter() - started)
    return {
        "p50_ms": percentile(seconds, 0.5) * 1000,
        "p95_ms": percentile(seconds, 0.95) * 1000,
        "searches": len(seconds),
    }


def measure(options: Options) -> list[Figure]:
    """Run the figures."""
    sizes = {"1k": 1_000, "100k": 5_000 if options.quick else 100_000}
    with tempfile.TemporaryDirectory() as directory:
        bench = _Bench(directory)
        try:
            quality = _quality(bench)
            ingestion = _ingestion(bench, options.reps(20, 3))
            latency = {}
            for label, size in sizes.items():
                _synthetic_store(bench, f"vs_{label}", size)
                latency[label] = _latency(bench, f"vs_{label}", options.reps(5, 1))
                latency[label]["chunks"] = size
        finally:
            bench.close()
    ranking = {
        "ranking": "keyword (FTS5 BM25)",
        "embedder": "none: no embedding model runs offline here; hybrid quality not measured",
    }
    figures = [
        Figure(
            f"{NAME}_recall_at_5",
            "file search recall@5 on README questions (keyword ranking)",
            rounded(quality["recall_at_5"]),
            "share",
            details={**quality, **ranking},
            shown=("questions", "passages"),
        ),
        Figure(
            f"{NAME}_mrr",
            "file search MRR on README questions (keyword ranking)",
            rounded(quality["mrr"]),
            "MRR",
            details={**quality, **ranking},
            shown=("questions",),
        ),
        Figure(
            f"{NAME}_ingest",
            "file search ingestion: parse, chunk 800/400, index (no embedder)",
            rounded(ingestion["mb_per_s"]),
            "MB/s",
            details={key: rounded(value) for key, value in ingestion.items()},
            shown=("megabytes",),
        ),
    ]
    for label, figures_of in latency.items():
        details = {key: rounded(value) for key, value in figures_of.items()}
        figures.append(
            Figure(
                f"{NAME}_search_{label}",
                f"file search p95 latency, keyword ranking, {figures_of['chunks']} chunks",
                details["p95_ms"],
                "ms",
                details=details,
                shown=("p50_ms", "chunks"),
            )
        )
    return figures


def compare_engines(postgres_url: str, repetitions: int = 5) -> dict[str, Any]:
    """Quality and 1k-chunk search latency on SQLite and on PostgreSQL, keyword ranking."""
    from benchmarks.scaling import fresh_postgres_database

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        urls = {
            "sqlite": None,
            "postgresql": fresh_postgres_database(postgres_url, "bench_retrieval"),
        }
        for engine, url in urls.items():
            bench = _Bench(directory, url)
            try:
                quality = _quality(bench)
                _synthetic_store(bench, "vs_1k", 1_000)
                latency = _latency(bench, "vs_1k", repetitions)
            finally:
                bench.close()
            results[engine] = {
                "recall_at_5": rounded(quality["recall_at_5"]),
                "mrr": rounded(quality["mrr"]),
                "search_1k_p50_ms": rounded(latency["p50_ms"]),
                "search_1k_p95_ms": rounded(latency["p95_ms"]),
                "searches": latency["searches"],
            }
    return results


def main(argv: list[str] | None = None) -> int:
    """Compare the engines and print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.retrieval", description=__doc__)
    parser.add_argument("--postgres-url", required=True, help="a server to create a database on")
    parser.add_argument("--quick", action="store_true", help="one pass of the questions")
    args = parser.parse_args(argv)
    print(json.dumps(compare_engines(args.postgres_url, 1 if args.quick else 5), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
