"""The run worker: executes runs in the background (see :mod:`.runner` for the flow).

- :mod:`.runner` — :class:`RunWorker`: tasks per run, cancel, expiry, ending a run;
- :mod:`.step` — one model step: attempt, prompt, backend call, the turn's outcome;
- :mod:`.tool_loop` — a turn's calls of tools the server executes, as one step;
- :mod:`.server_tools` — what such a tool is; :mod:`.code_interpreter` — the interpreter tool;
  :mod:`.file_search` — the search over the run's vector stores;
- :mod:`.prompt` — a thread's stored history → the model's chat messages;
- :mod:`.writer` — the run's assistant message, streamed as the model writes it;
- :mod:`.leases` — the heartbeat, and taking over runs of dead processes.
"""

from assistant_graph.assistants_server.worker.runner import (
    HEARTBEAT_SECONDS,
    LEASE_SECONDS,
    RunWorker,
)

__all__ = ["HEARTBEAT_SECONDS", "LEASE_SECONDS", "RunWorker"]
