"""Benchmarks: the graph against LangGraph's prebuilt agent on the same model, and start-up.

Run every benchmark and write the figures as JSON::

    python -m benchmarks                       # table + benchmarks/results/latest.json
    python -m benchmarks --json out.json       # choose the JSON path
    python -m benchmarks --only vs_prebuilt --only startup
    python -m benchmarks --quick               # smoke run: few repetitions, small sizes

Every figure is a ratio, rate or size measured within one run (times are medians, the compared
sides alternate), so the noise of a shared machine cancels out as far as it can. Every
conversation is the one of :mod:`benchmarks.conversation` (two calculator rounds and an answer:
three model calls). One module per benchmark (``--only`` takes its name):

* :mod:`benchmarks.startup` — ``assistant-graph --help`` wall time; import time of
  ``assistant_graph.graph`` ÷ ``langgraph.graph`` + langchain_community's V2 runnable;
* :mod:`benchmarks.vs_prebuilt` — graph ÷ LangGraph's prebuilt agent with ``ChatOpenAI``, same
  fake Chat Completions endpoint (:mod:`benchmarks.fake_chat_endpoint`), L = 0, 300, 1000 ms:
  wall time, time to first answer token, CPU per conversation;
* :mod:`benchmarks.concurrency` — 32 conversations at once: the graph's conversations per second
  ÷ the prebuilt agent's, same endpoint and latencies;
* :mod:`benchmarks.vs_seed` — graph wall ÷ the seed's ``execute_agent`` loop (offline model);
* :mod:`benchmarks.thread_length` — one turn on an Assistants thread of 500 messages ÷ of 5;
* :mod:`benchmarks.thread_length_state` — the same with the messages also in LangGraph state;
* :mod:`benchmarks.checkpoint_cost` — SQLite checkpoint bytes per step at 5 and 500 messages;
* :mod:`benchmarks.memory` — peak RSS of 32 conversations at once, beside the prebuilt agent's.
"""
