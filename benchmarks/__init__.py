"""Benchmarks: the graph's overhead against the model's own time and the seed's agent loop.

Run every figure (about two minutes on two cores) and write the figures as JSON::

    python -m benchmarks                       # table + benchmarks/results/latest.json
    python -m benchmarks --json out.json       # choose the JSON path
    python -m benchmarks --only step_overhead --only vs_seed
    python -m benchmarks --quick               # smoke test: few repetitions, small sizes

Every figure is a ratio or count measured in the same run against an embedded Assistants
server (temporary SQLite file, offline model scripted to two tool rounds + an answer, an
artificial latency L per model call), so the noise of a shared machine cancels out; times
are medians of several repetitions. One module per figure:

* :mod:`benchmarks.step_overhead` — graph wall ÷ (3 x L), L = 100 ms;
* :mod:`benchmarks.vs_seed` — graph wall ÷ the seed's ``execute_agent`` loop (upstream defaults);
* :mod:`benchmarks.thread_length` — agent loop: one turn on an Assistants thread of 500 prior
  messages ÷ of 5 (the LangGraph state holds only the current conversation), L = 0;
* :mod:`benchmarks.thread_length_state` — the same with the prior messages also in the
  LangGraph state (its checkpointer's whole-list (de)serialisation included; reported);
* :mod:`benchmarks.concurrency` — 32 conversations at once ÷ one, L = 100 ms;
* :mod:`benchmarks.throughput` — runs per second, p50/p95 latency, L = 0, beside the seed loop;
* :mod:`benchmarks.checkpoint_cost` — SQLite checkpoint bytes per step at thread length 5 and 500;
* :mod:`benchmarks.memory` — peak RSS of the 32-conversation run (in a child process).
"""
