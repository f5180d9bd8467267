"""The one conversation every benchmark plays: two rounds of calculator calls, then an answer.

A user message matching :data:`SCRIPT_MATCH` is answered by the model with ``calculator("6 * 7")``,
then ``calculator("42 + 1")``, then the text :data:`ANSWER`: three model calls. The offline
model plays it from :data:`OFFLINE_SCRIPT`; the fake Chat Completions endpoint
(:mod:`benchmarks.fake_chat_endpoint`) plays the same turns. Plain constants only, so the fake
endpoint's process imports nothing else.
"""

from __future__ import annotations

SCRIPT_MATCH = "benchmark two rounds"
QUESTION = f"Please do the {SCRIPT_MATCH} sum."
ANSWER = "The total is 43."
MODEL_CALLS_PER_CONVERSATION = 3
TOOL_ROUNDS = ({"expression": "6 * 7"}, {"expression": "42 + 1"})
"""The calculator arguments of the first two model calls."""
OFFLINE_SCRIPT = [
    {
        "match": SCRIPT_MATCH,
        "turns": [
            *({"tool_calls": [{"name": "calculator", "arguments": args}]} for args in TOOL_ROUNDS),
            {"text": ANSWER},
        ],
    }
]
"""The conversation as an offline-model script (``ASSISTANTS_SERVER_OFFLINE_SCRIPT``)."""
BENCHMARK_ERROR = "Benchmark conversation went wrong: {detail}"
