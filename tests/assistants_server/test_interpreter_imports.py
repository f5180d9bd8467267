"""What importing the code interpreter's package costs: its light names need no Jupyter."""

from __future__ import annotations

import subprocess
import sys

LIGHT_NAMES = ["ExecutionResult", "InterpreterSettings", "SandboxUnavailable", "WorkspaceFile"]


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_light_names_import_without_jupyter_client():
    """With ``jupyter_client`` not importable, the interpreter package's light names still
    import, and ``InterpreterPool`` (which needs it) fails only when asked for."""
    code = f"""
import sys
sys.modules["jupyter_client"] = None  # any import of it raises ImportError
from assistant_graph.assistants_server.interpreter import {", ".join(LIGHT_NAMES)}
import assistant_graph.assistants_server.interpreter as interpreter
try:
    interpreter.InterpreterPool
except ImportError:
    print("pool needs jupyter_client")
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pool needs jupyter_client"


def test_importing_the_package_loads_no_kernel_machinery():
    """Importing the package and its light names leaves ``jupyter_client`` unloaded; asking
    for ``InterpreterPool`` loads it."""
    code = f"""
import sys
from assistant_graph.assistants_server.interpreter import {", ".join(LIGHT_NAMES)}
before = "jupyter_client" in sys.modules
from assistant_graph.assistants_server.interpreter import InterpreterPool
print(before, "jupyter_client" in sys.modules)
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
