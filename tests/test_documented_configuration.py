"""The configuration the code reads is the configuration the docs describe.

Every environment variable the graph's context or the server's settings read must appear in
`.env.example` (commented out, so copying it changes nothing) and in the README's
configuration table; and the README's two set-up commands must be the ones CI runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from assistant_graph.assistants_server.settings import ENV_VARIABLES as SERVER_ENV_VARIABLES
from assistant_graph.assistants_server.settings import ServerSettings
from assistant_graph.graph.context import ENV_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
SERVER_VARIABLES = sorted(SERVER_ENV_VARIABLES.values())
ALL_VARIABLES = sorted({*ENV_VARIABLES.values(), *SERVER_VARIABLES, "ASSISTANT_GRAPH_HOME"})

EXAMPLE_VALUES = {
    "host": "127.0.0.2",
    "port": "9999",
    "database_url": "sqlite:///elsewhere.sqlite3",
    "api_keys": "k1,k2",
    "allowed_hosts": "a.example",
    "backend": "offline",
    "model_base_url": "http://127.0.0.1:1/v1",
    "model_api_key": "sk-example",
    "default_model": "gpt-x",
    "embedding_model": "text-embedding-3-small",
    "model_timeout_seconds": "12.5",
    "model_max_retries": "7",
    "offline_latency_ms": "3",
    "offline_script": "script.json",
    "run_expiry_seconds": "30",
    "max_body_bytes": "1000",
    "max_file_bytes": "1000",
    "log_level": "debug",
    "interpreter_sandbox": "unsandboxed",
    "interpreter_bwrap_path": "/opt/bwrap",
    "interpreter_python": "/opt/python3",
    "interpreter_idle_seconds": "60",
    "interpreter_wall_seconds": "5",
    "interpreter_cpu_seconds": "10",
    "interpreter_memory_mb": "512",
    "interpreter_max_processes": "16",
    "interpreter_max_file_mb": "1",
    "interpreter_output_bytes": "100",
    "interpreter_max_sessions": "2",
}


@pytest.mark.parametrize("field", sorted(SERVER_ENV_VARIABLES))
def test_each_server_variable_sets_its_setting(field: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Setting the variable the settings class declares for a field changes that field."""
    default = getattr(ServerSettings(), field)
    monkeypatch.setenv(SERVER_ENV_VARIABLES[field], EXAMPLE_VALUES[field])
    assert getattr(ServerSettings(), field) != default


def test_the_default_of_each_documented_server_variable_is_the_class_default() -> None:
    """A value shown in `.env.example` (`# NAME=value`) is the settings class's default."""
    text = (ROOT / ".env.example").read_text()
    defaults = ServerSettings.model_construct()
    for field, variable in SERVER_ENV_VARIABLES.items():
        shown = re.search(rf"^# {variable}=(.*)$", text, re.MULTILINE)
        assert shown is not None, variable
        value = shown.group(1).strip()
        if value:
            default = getattr(defaults, field)
            assert type(default)(value) == default, (variable, value, default)


@pytest.mark.parametrize("variable", ALL_VARIABLES)
def test_every_variable_is_in_env_example_commented_out(variable: str) -> None:
    """`.env.example` lists the variable, commented out (a copied empty value would override)."""
    text = (ROOT / ".env.example").read_text()
    assert re.search(rf"^# {variable}=", text, re.MULTILINE), variable
    assert not re.search(rf"^{variable}=", text, re.MULTILINE), variable


@pytest.mark.parametrize("variable", ALL_VARIABLES)
def test_every_variable_is_in_the_readme_configuration_table(variable: str) -> None:
    """The README's configuration table has a row for the variable."""
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"^\| `{variable}` \|", readme, re.MULTILINE), variable


def test_ci_runs_the_readme_test_command() -> None:
    """`.ci/run` runs exactly the test command the README gives."""
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^python -m pip install[^\n]*$", readme, re.MULTILINE)
    test_commands = [c for c in commands if "pytest" in c]
    assert len(test_commands) == 1, commands
    assert test_commands[0] in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("field", sorted(SERVER_ENV_VARIABLES))
def test_the_readme_default_of_each_server_variable_is_the_class_default(field: str) -> None:
    """Where the README's table shows a literal default (a number or a word in backticks),
    it is the settings class's default."""
    readme = (ROOT / "README.md").read_text()
    variable = SERVER_ENV_VARIABLES[field]
    row = re.search(rf"^\| `{variable}` \|[^|]*\|([^|]*)\|", readme, re.MULTILINE)
    assert row is not None, variable
    literal = re.fullmatch(r"\s*`([\w.-]+)`\s*", row.group(1))
    if literal is not None:
        default = getattr(ServerSettings.model_construct(), field)
        assert type(default)(literal.group(1)) == default, (variable, literal.group(1))
