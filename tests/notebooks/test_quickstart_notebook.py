"""``notebooks/quickstart.ipynb``: committed without outputs, and it runs top to bottom.

The notebook is executed by a real Jupyter kernel (ipykernel's ``python3`` kernel, started by
nbclient with this interpreter), offline: the graph uses the embedded Assistants server with
its offline model, and the checkpoint file lives in a temporary directory.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"
CELL_TIMEOUT_SECONDS = 120


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The notebook's code cells, in order."""
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def cell_text(cell: nbformat.NotebookNode) -> str:
    """Everything a code cell printed or displayed as text."""
    parts: list[str] = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in {"execute_result", "display_data"}:
            parts.append(output.data.get("text/plain", ""))
    return "".join(parts)


def cell_using(cells: list[nbformat.NotebookNode], snippet: str) -> nbformat.NotebookNode:
    """The one code cell whose source contains ``snippet``."""
    (cell,) = [cell for cell in cells if snippet in cell.source]
    return cell


def test_committed_notebook_has_no_outputs() -> None:
    """The committed notebook carries no outputs or execution counts (they could go stale)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    cells = code_cells(notebook)
    assert cells
    assert [cell.outputs for cell in cells] == [[] for _ in cells]
    assert [cell.execution_count for cell in cells] == [None for _ in cells]
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow
def test_quickstart_notebook_runs_offline_and_shows_the_saved_conversation(
    tmp_path: Path,
) -> None:
    """Every cell runs without error; the outputs show the answers, diagram and reloaded state."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_SECONDS,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()

    cells = code_cells(notebook)
    errors = [o for cell in cells for o in cell.outputs if o.output_type == "error"]
    assert errors == []
    assert all(cell.execution_count is not None for cell in cells)

    diagram = cell_text(cell_using(cells, "draw_mermaid()"))
    assert "graph TD;" in diagram
    assert "__start__ --> assistant;" in diagram
    assert "assistant -.-> tools;" in diagram
    assert "tools --> assistant;" in diagram

    first_turn = cell_text(cell_using(cells, "pretty_print()"))
    assert "Tool Calls:" in first_turn
    assert "calculator" in first_turn
    assert "-32.22" in first_turn

    assert "-14.98" in cell_text(cell_using(cells, 'ask("now add 17.241")'))
    assert "Embedded Assistants server: http://127.0.0.1:" in cell_text(
        cell_using(cells, "shared_embedded_server()")
    )

    steps = cell_text(cell_using(cells, 'stream_mode="updates"')).splitlines()
    assert [line.split("->")[0].strip() for line in steps] == ["assistant", "tools", "assistant"]
    assert "-29.96" in steps[1]

    reloaded = cell_text(cell_using(cells, "SqliteSaver.from_conn_string"))
    assert "12 messages reloaded from checkpoints.sqlite3" in reloaded
    assert "human: now add 17.241" in reloaded
    assert "Assistants thread: thread_" in reloaded
    assert "Reloaded graph answers:" in reloaded
    assert "-30.46" in reloaded
