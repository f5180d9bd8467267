"""The project as a user installs it: a wheel in a fresh virtual environment.

The wheel is built from a copy of the sources (nothing is written into the repository) and
installed into a new venv. The venv sees the global site-packages for the dependencies, where
the project itself is also installed in editable mode; the check therefore runs outside the
repository and asserts that every package is imported from the venv's copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("graph", "tools", "assistants_server")
CONFIG_PREFIXES = ("OPENAI_", "ASSISTANT_", "ASSISTANTS_")

CHECK_SCRIPT = """
import json
import assistant_graph.assistants_server as assistants_server
import assistant_graph.graph as package
import assistant_graph.tools as tools
from assistant_graph.graph import build_graph, graph

answer = graph.invoke({"messages": [{"role": "user", "content": "What's 6 times 7?"}]})
print(json.dumps({
    "files": [package.__file__, tools.__file__, assistants_server.__file__],
    "build_graph": callable(build_graph),
    "checkpointer": repr(graph.checkpointer),
    "answer": answer["messages"][-1].content,
}))
"""


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; on failure show its output."""
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_graph_imports_and_answers_from_an_installed_wheel(tmp_path: Path) -> None:
    """``from assistant_graph.graph import graph, build_graph`` works from an installed wheel."""
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy2(REPO_ROOT / "pyproject.toml", source)
    if (REPO_ROOT / "README.md").exists():
        shutil.copy2(REPO_ROOT / "README.md", source)
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    dist = tmp_path / "dist"
    run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
         "--no-build-isolation", "-w", str(dist), "-q"],
        cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = dist.glob("assistant_graph-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        cwd=tmp_path)  # fmt: skip
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--no-deps", "--force-reinstall", "-q", str(wheel)],
        cwd=tmp_path)  # fmt: skip

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
    env.update(ASSISTANT_GRAPH_HOME=str(tmp_path / "home"), LANGSMITH_TRACING="false")
    env.pop("PYTHONPATH", None)
    output = run([str(python), "-c", CHECK_SCRIPT], cwd=elsewhere, env=env)
    report = json.loads(output.strip().splitlines()[-1])

    site_packages = (venv / "lib").resolve()
    for file in report["files"]:
        assert Path(file).resolve().is_relative_to(site_packages), report["files"]
    assert report["build_graph"] is True
    assert report["checkpointer"] == "None"
    assert "42" in report["answer"]
