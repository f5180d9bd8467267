"""The compiled graph's shape, schemas and import-time behaviour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "graph.mmd"


def test_mermaid_diagram_matches_the_snapshot():
    """assistant ⇄ tools loop from START, optional human_review before the tools (which goes
    on to the tools or, all calls rejected, back to the assistant), conditional edge to END
    (update the snapshot file deliberately when the shape changes)."""
    from assistant_graph.graph import graph

    assert graph.get_graph().draw_mermaid(with_styles=False) == SNAPSHOT.read_text()


def test_exported_graph_is_named_and_has_no_checkpointer():
    """``langgraph dev`` refuses graphs compiled with a checkpointer."""
    from assistant_graph.graph import graph

    assert graph.name == "assistant-graph"
    assert graph.checkpointer is None


def test_input_and_output_schemas_expose_messages_only():
    """Studio's chat view needs ``messages`` in the input and output schemas; the ids stay
    internal to the full state."""
    from assistant_graph.graph import graph

    assert set(graph.get_input_jsonschema()["properties"]) == {"messages"}
    assert set(graph.get_output_jsonschema()["properties"]) == {"messages"}
    assert {"messages", "assistant_thread_id", "pending_run_id"} <= set(
        graph.builder.state_schema.__dataclass_fields__
    )


def test_context_schema_fields_are_described():
    """Every configuration field carries a description (shown by Studio and the README)."""
    from assistant_graph.graph import graph

    properties = graph.get_context_jsonschema()["properties"]
    assert set(properties) == {
        "assistant_id",
        "assistant_name",
        "model",
        "instructions",
        "base_url",
        "api_key",
        "check_every_ms",
        "interrupt_before_tools",
        "mcp_config",
    }
    assert all(p.get("description") for p in properties.values())


def test_importing_the_graph_starts_no_server_and_opens_no_socket():
    """Importing the graph module and building the exported ``graph`` (on first access)
    start no embedded server, no thread and open no network connection."""
    code = (
        "import socket, threading\n"
        "def refuse(*a, **k): raise AssertionError('network touched at import')\n"
        "socket.socket.connect = refuse\n"
        "from assistant_graph.graph import graph\n"
        "import assistant_graph.assistants_server.embedded as e\n"
        "assert e._shared is None, 'embedded server started at import'\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_building_the_graph_leaves_the_openai_sdk_unloaded():
    """``from assistant_graph.graph import graph`` compiles the graph without importing the
    ``openai`` SDK (about half a second of start-up, as much as LangGraph itself): the SDK loads
    with the first step, so ``langgraph dev`` and apps start faster."""
    code = (
        "import sys\n"
        "from assistant_graph.graph import graph\n"
        "graph.get_graph()\n"
        "print(sorted(m for m in sys.modules if m == 'openai' or m.startswith('openai.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
