"""The project as a user installs it: a wheel in a fresh virtual environment.

The wheel is built from a copy of the sources (nothing is written into the repository) and
installed into a new venv. That venv sees the dependencies of the interpreter running the tests
(a ``.pth`` file lists its site-packages directories, whether it is itself a venv or not) but
not that interpreter's ``.pth`` files, so the project's editable install stays invisible; the
check runs outside the repository, next to a ``graph.py`` and a ``tools.py`` of its own, and
asserts that every package is imported from the venv's copy.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("graph", "tools", "assistants_server")
CONFIG_PREFIXES = ("OPENAI_", "ASSISTANT_", "ASSISTANTS_")
SHADOWING_MODULE = 'raise RuntimeError("the working directory\'s {name}.py was imported")\n'
"""What the check's working directory holds as ``graph.py`` and ``tools.py``."""
CAN_BUILD_WHEELS = (
    "import importlib.util as u, sys; "
    "sys.exit(0 if u.find_spec('setuptools.command.bdist_wheel') or u.find_spec('wheel') else 1)"
)
"""Exit 0 when the interpreter's setuptools can build a wheel (setuptools >= 70.1, or wheel)."""

CHECK_SCRIPT = """
import json
import sys
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
    "local_modules_imported": [m for m in ("graph", "tools") if m in sys.modules],
}))
"""


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; on failure show its output."""
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def wheel_builder() -> list[str]:
    """``pip wheel`` of an interpreter able to build the wheel offline.

    This interpreter's own setuptools first; in a venv whose bundled setuptools is too old for
    ``bdist_wheel``, its base interpreter's. With neither, pip builds in an isolated
    environment (it then fetches the build requirements from the package index).
    """
    base = Path(sys.base_prefix) / "bin" / f"python{sysconfig.get_python_version()}"
    for python in dict.fromkeys([sys.executable, str(base)]):
        if (
            Path(python).exists()
            and subprocess.run([python, "-c", CAN_BUILD_WHEELS]).returncode == 0
        ):
            return [python, "-m", "pip", "wheel", "--no-build-isolation"]
    return [sys.executable, "-m", "pip", "wheel"]


def make_venv(venv: Path) -> Path:
    """A new venv that sees this interpreter's dependencies; returns its ``python``."""
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv.parent)
    python = venv / "bin" / "python"
    venv_site = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        cwd=venv.parent,
    ).strip()
    dependencies = [*site.getsitepackages(), site.getusersitepackages()]
    (Path(venv_site) / "test_dependencies.pth").write_text("\n".join(dependencies) + "\n")
    return python


@pytest.mark.slow
def test_graph_imports_and_answers_from_an_installed_wheel(tmp_path: Path) -> None:
    """``from assistant_graph.graph import graph, build_graph`` works from an installed wheel
    (which carries a PEP 561 ``py.typed`` marker in each package), in another directory, and
    a ``graph.py`` / ``tools.py`` there does not shadow the installed packages; the installed
    ``assistant-graph`` command answers there too."""
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
    run([*wheel_builder(), str(source), "--no-deps", "-w", str(dist), "-q"], cwd=tmp_path)
    (wheel,) = dist.glob("assistant_graph-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        markers = sorted(n for n in archive.namelist() if n.endswith("/py.typed"))
    assert markers == [f"assistant_graph/{package}/py.typed" for package in sorted(PACKAGES)]

    venv = tmp_path / "venv"
    python = make_venv(venv)
    run([str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", str(wheel)],
        cwd=tmp_path)  # fmt: skip

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("graph", "tools"):
        (elsewhere / f"{name}.py").write_text(SHADOWING_MODULE.format(name=name))
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
    env.update(ASSISTANT_GRAPH_HOME=str(tmp_path / "home"), LANGSMITH_TRACING="false")
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    output = run([str(python), "-c", CHECK_SCRIPT], cwd=elsewhere, env=env)
    report = json.loads(output.strip().splitlines()[-1])

    site_packages = (venv / "lib").resolve()
    for file in report["files"]:
        assert Path(file).resolve().is_relative_to(site_packages), report["files"]
    assert report["build_graph"] is True
    assert report["checkpointer"] == "None"
    assert "42" in report["answer"]
    assert report["local_modules_imported"] == []

    answer = run([str(venv / "bin" / "assistant-graph"), "ask", "What's 6 times 7?"],
                 cwd=elsewhere, env=env)  # fmt: skip
    assert "6 * 7 = 42" in answer
