"""The container files, tested without Docker (there is no Docker daemon here).

What can be checked outside a container is: the Dockerfile's exec-form ``ENTRYPOINT`` +
``CMD`` is the documented command line and runs as written, with the image's ``ENV`` (its data
dir swapped for a temp dir) and the environment a ``docker run -e`` would add; the server then
answers, keeps its data in that dir, and binds 0.0.0.0 only when told to. The image build
itself, the volume and the port mapping are not exercised.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO_ROOT / "Dockerfile"
LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)/v1")
CONFIG_PREFIXES = ("OPENAI_", "ASSISTANT_", "ASSISTANTS_")


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (keyword, arguments), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def exec_form(keyword: str) -> list[str]:
    """The JSON (exec-form) arguments of the last ``keyword`` instruction."""
    value = [rest for key, rest in instructions() if key == keyword][-1]
    return json.loads(value)


def image_env() -> dict[str, str]:
    """The ``ENV`` the image sets."""
    env: dict[str, str] = {}
    for key, rest in instructions():
        if key == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(rest))
    return env


@contextmanager
def entry_point(tmp_path: Path, **docker_run_env: str) -> Iterator[tuple[str, int, Path]]:
    """Run the image's entry point + command outside a container; yield (host, port, data)."""
    argv = exec_form("ENTRYPOINT") + exec_form("CMD")
    executable = shutil.which(argv[0])
    assert executable, f"{argv[0]} is not installed"
    data = tmp_path / "data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
    env.update(image_env())
    env["ASSISTANT_GRAPH_HOME"] = str(data)  # the volume
    env["ASSISTANTS_SERVER_PORT"] = "0"  # a free port instead of 8321 on a shared machine
    env.update(docker_run_env)
    process = subprocess.Popen(
        [executable, *argv[1:]], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = LISTENING.search(line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        yield match.group(1), int(match.group(2)), data
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def test_dockerfile_runs_serve_with_the_data_dir_on_a_volume():
    """The image runs ``assistant-graph serve``, its data dir is the declared volume, it binds
    no address itself (no ``ASSISTANTS_SERVER_HOST``), and every file it copies exists."""
    assert exec_form("ENTRYPOINT") + exec_form("CMD") == ["assistant-graph", "serve"]
    env = image_env()
    assert exec_form("VOLUME") == [env["ASSISTANT_GRAPH_HOME"]]
    assert "ASSISTANTS_SERVER_HOST" not in env
    for key, rest in instructions():
        if key == "COPY":
            *sources, _ = rest.split()
            for source in sources:
                assert (REPO_ROOT / source).exists(), source
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    for secret_or_state in (".env", ".venv", "*.sqlite3", ".git"):
        assert secret_or_state in ignored


@pytest.mark.slow
def test_entry_point_serves_on_loopback_with_data_in_the_volume(tmp_path):
    """The entry point's exact command line, with the image's environment: the server listens
    on 127.0.0.1, answers the real ``openai`` SDK, keeps its store in the data dir, and the
    image's health check command succeeds against it."""
    with entry_point(tmp_path) as (host, port, data):
        assert host == "127.0.0.1"
        client = openai.OpenAI(base_url=f"http://{host}:{port}/v1", api_key="unused")
        assistant = client.beta.assistants.create(model="gpt-4o-mini", name="in-a-container")
        assert client.beta.assistants.retrieve(assistant.id).name == "in-a-container"
        assert (data / "assistants.sqlite3").is_file()
        health = [rest for key, rest in instructions() if key == "HEALTHCHECK"][-1]
        command = json.loads(health[health.index("CMD") + 3 :].strip())
        assert command[0] == "python"
        env = {**os.environ, "ASSISTANTS_SERVER_PORT": str(port)}
        check = subprocess.run([sys.executable, *command[1:]], env=env, timeout=30)
        assert check.returncode == 0


@pytest.mark.slow
def test_entry_point_binds_all_interfaces_only_when_told(tmp_path):
    """``-e ASSISTANTS_SERVER_HOST=0.0.0.0 -e ASSISTANTS_SERVER_API_KEYS=...`` (the README's
    ``docker run``): the server listens on 0.0.0.0 and refuses requests without the key."""
    with entry_point(
        tmp_path, ASSISTANTS_SERVER_HOST="0.0.0.0", ASSISTANTS_SERVER_API_KEYS="team-secret"
    ) as (host, port, _):
        assert host == "0.0.0.0"
        url = f"http://127.0.0.1:{port}/v1/assistants"
        assert httpx.get(url).status_code == 401
        authorized = httpx.get(url, headers={"Authorization": "Bearer team-secret"})
        assert authorized.status_code == 200


@pytest.mark.slow
def test_langgraph_dockerfile_builds_the_graph_from_this_package(tmp_path):
    """``langgraph dockerfile`` (the LangGraph API server image, README "Container") accepts
    ``langgraph.json``: it installs this package and serves its exported graph."""
    langgraph = shutil.which("langgraph")
    assert langgraph, "langgraph-cli is a test dependency"
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1"}
    output = tmp_path / "Dockerfile"
    subprocess.run(
        [langgraph, "dockerfile", "-c", str(REPO_ROOT / "langgraph.json"), str(output)],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    generated = output.read_text()
    assert generated.startswith("FROM langchain/langgraph-api:3.11")
    assert "LANGSERVE_GRAPHS='{\"assistant\": \"assistant_graph.graph.exported:graph\"}'" in (
        generated
    )
    assert re.search(r"^ADD \. /deps/", generated, re.MULTILINE)
