"""The code interpreter's engine: real ipykernel kernels in real bubblewrap sandboxes.

Each test runs code through the public :class:`InterpreterPool` and checks what the user
would see (logs, images, files, error) and that the pool still serves the next call.
"""

from __future__ import annotations

import ast
import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from assistant_graph.assistants_server.interpreter import (
    ExecutionResult,
    InterpreterPool,
    InterpreterSettings,
    SandboxUnavailable,
    WorkspaceFile,
)
from assistant_graph.assistants_server.settings import ServerSettings

T = TypeVar("T")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def with_pool(body: Callable[[InterpreterPool], Awaitable[T]], **limits: Any) -> T:
    """Run ``body`` with a fresh pool (short wall clock by default), closed afterwards."""
    limits.setdefault("wall_seconds", 30)

    async def go() -> T:
        pool = InterpreterPool(InterpreterSettings(**limits))
        try:
            return await body(pool)
        finally:
            await pool.aclose()

    return asyncio.run(go())


async def alive(pool: InterpreterPool, key: str = "t") -> ExecutionResult:
    """A call that must succeed on a working pool."""
    result = await pool.execute(key, "print('still here')")
    assert result.error is None, result
    assert result.logs == "still here\n"
    return result


@pytest.mark.slow
def test_variables_survive_between_calls_of_one_session() -> None:
    """A variable set by one call is there in the next call of the same session."""

    async def body(pool: InterpreterPool) -> list[ExecutionResult]:
        return [await pool.execute("t", "x = 6 * 7"), await pool.execute("t", "print(x)")]

    first, second = with_pool(body)
    assert first.error is None and first.logs == ""
    assert second.error is None and second.logs == "42\n"


@pytest.mark.slow
def test_a_session_idle_past_its_limit_starts_fresh() -> None:
    """After the idle limit the session has ended: the next call sees no old variables."""

    async def body(pool: InterpreterPool) -> ExecutionResult:
        await pool.execute("t", "x = 1")
        await asyncio.sleep(1.5)
        return await pool.execute("t", "print(x)")

    result = with_pool(body, idle_seconds=1.0)
    assert result.error is not None and result.error.startswith("NameError")


@pytest.mark.slow
def test_given_files_appear_under_mnt_data_and_written_files_come_back() -> None:
    """An input file is readable at /mnt/data/<name>; files the code writes there return."""
    code = (
        "import csv\n"
        "rows = list(csv.reader(open('/mnt/data/numbers.csv')))\n"
        "total = sum(int(v) for row in rows for v in row)\n"
        "open('/mnt/data/total.txt', 'w').write(str(total))\n"
        "import os; os.makedirs('/mnt/data/out', exist_ok=True)\n"
        "open('/mnt/data/out/nested.txt', 'w').write('deep')\n"
        "print(total)"
    )

    async def body(pool: InterpreterPool) -> ExecutionResult:
        return await pool.execute("t", code, [WorkspaceFile("numbers.csv", b"1,2\n3,4\n")])

    result = with_pool(body)
    assert result.error is None, result
    assert result.logs == "10\n"
    assert sorted(result.files, key=lambda f: f.name) == [
        WorkspaceFile("out/nested.txt", b"deep"),
        WorkspaceFile("total.txt", b"10"),
    ]


@pytest.mark.slow
def test_a_matplotlib_figure_comes_back_as_png() -> None:
    """A figure shown with plt.show() comes back as PNG bytes in ``images``."""
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()"
    result = with_pool(lambda pool: pool.execute("t", code))
    assert result.error is None, result
    assert len(result.images) == 1
    assert result.images[0].startswith(PNG_SIGNATURE)


@pytest.mark.slow
def test_network_access_fails() -> None:
    """Neither a loopback server of the host nor a name on the internet can be reached."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    code = (
        "import socket\n"
        f"for address in [('127.0.0.1', {port}), ('pypi.org', 443), ('1.1.1.1', 53)]:\n"
        "    try:\n"
        "        socket.create_connection(address, timeout=3).close()\n"
        "        print('reached', address)\n"
        "    except OSError as exc:\n"
        "        print('blocked', address, type(exc).__name__)\n"
    )
    try:
        result = with_pool(lambda pool: pool.execute("t", code))
    finally:
        listener.close()
    assert result.error is None, result
    assert "reached" not in result.logs
    assert result.logs.count("blocked") == 3, result.logs


@pytest.mark.slow
def test_files_outside_the_workspace_cannot_be_read(tmp_path: Path) -> None:
    """The server's database, /root and the project's directory are not in the sandbox."""
    database = tmp_path / "assistants.sqlite3"
    database.write_bytes(b"SQLite format 3\x00 secret rows")
    targets = [str(database), str(Path(__file__).resolve())]
    targets += [str(p) for p in sorted(Path("/root").iterdir()) if p.is_file()][:5]
    project = str(Path(__file__).resolve().parents[2])
    assert all(Path(t).read_bytes() for t in targets)  # the host can read each one
    code = (
        "import os\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        open(path, 'rb').read()\n"
        "        print('READ', path)\n"
        "    except OSError as exc:\n"
        "        print('denied', path, type(exc).__name__)\n"
        "print(sorted(os.listdir('/')))\n"
        f"print(sorted(os.listdir({project!r})) if os.path.isdir({project!r}) else [])\n"
    )
    result = with_pool(lambda pool: pool.execute("t", code))
    assert result.error is None, result
    assert "READ" not in result.logs
    assert result.logs.count("denied") == len(targets)
    root_listing, project_listing = result.logs.splitlines()[-2:]
    assert "'home'" not in root_listing
    # A server in a virtual environment inside the project sees that environment only.
    assert set(ast.literal_eval(project_listing)) <= {".venv", "venv"}, project_listing


@pytest.mark.slow
def test_a_link_the_code_plants_is_never_followed_by_the_server(tmp_path: Path) -> None:
    """A symlink in /mnt/data to a server file is not returned, and input files replace it."""
    secret = tmp_path / "server-secret.txt"
    secret.write_text("do not leak")

    async def body(pool: InterpreterPool) -> list[ExecutionResult]:
        plant = f"import os\nos.symlink({str(secret)!r}, '/mnt/data/leak.txt')"
        planted = await pool.execute("t", plant)
        overwrite = await pool.execute(
            "t", "print(open('/mnt/data/leak.txt').read())", [WorkspaceFile("leak.txt", b"new")]
        )
        return [planted, overwrite]

    planted, overwrite = with_pool(body)
    assert planted.error is None and planted.files == []
    assert overwrite.logs == "new\n"
    assert secret.read_text() == "do not leak"


@pytest.mark.slow
def test_a_fork_bomb_ends_in_an_error_and_the_pool_serves_the_next_call() -> None:
    """Forking without end is stopped by the process limit; the copies left running are ended
    with the session, which then starts afresh and works."""
    bomb = "import os\nwhile True:\n    os.fork()"

    count = (
        "import os, threading\n"
        "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
        "def live(pid):\n"
        "    try:\n"
        "        return open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[0] != 'Z'\n"
        "    except OSError:\n"
        "        return False\n"
        "print(sum(live(n) for n in os.listdir('/proc') if n.isdigit()))"
    )

    async def body(pool: InterpreterPool) -> tuple[ExecutionResult, ExecutionResult]:
        result = await pool.execute("t", bomb)
        await alive(pool)
        return result, await pool.execute("t", count)

    started = time.monotonic()
    result, after = with_pool(body, max_processes=32, wall_seconds=10)
    assert result.error is not None and "left" in result.error, result.error
    assert time.monotonic() - started < 60
    # The bomb's copies are gone: the session can start threads, and its sandbox holds only
    # bubblewrap's init and the kernel (killed copies may linger as zombies until reaped).
    assert after.error is None, after
    assert int(after.logs.split()[-1]) <= 3, after.logs


@pytest.mark.slow
def test_an_endless_loop_times_out_and_the_session_keeps_its_variables() -> None:
    """A loop past the wall clock is interrupted, reported, and the session carries on."""

    async def body(pool: InterpreterPool) -> list[ExecutionResult]:
        await pool.execute("t", "x = 'kept'")
        looped = await pool.execute("t", "while True:\n    pass")
        return [looped, await pool.execute("t", "print(x)")]

    looped, after = with_pool(body, wall_seconds=3)
    assert looped.error == "timed out after 3 s"
    assert "KeyboardInterrupt" in looped.logs
    assert after.error is None and after.logs == "kept\n"


@pytest.mark.slow
def test_code_that_ignores_the_interrupt_is_killed_and_the_session_restarts() -> None:
    """Code that swallows the interrupt is killed at the wall clock; the next call is fresh."""
    stubborn = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(60)"

    async def body(pool: InterpreterPool) -> list[ExecutionResult]:
        await pool.execute("t", "x = 1")
        stuck = await pool.execute("t", stubborn)
        return [stuck, await pool.execute("t", "print('x' in globals())")]

    stuck, after = with_pool(body, wall_seconds=2)
    assert stuck.error is not None and stuck.error.startswith("timed out after 2 s")
    assert "restarted" in stuck.error
    assert after.error is None and after.logs == "False\n"


@pytest.mark.slow
def test_a_10_gb_allocation_fails_with_memory_error_and_the_pool_goes_on() -> None:
    """Allocating 10 GB hits the memory limit as a MemoryError; the next call works."""

    async def body(pool: InterpreterPool) -> ExecutionResult:
        result = await pool.execute("t", "block = bytearray(10 * 1024**3)")
        await alive(pool)
        return result

    result = with_pool(body, memory_mb=1024)
    assert result.error is not None and result.error.startswith("MemoryError")


@pytest.mark.slow
def test_cpu_time_and_file_size_limits_hold() -> None:
    """A file over the size limit cannot be written; a CPU hog is killed at its CPU limit."""

    async def body(pool: InterpreterPool) -> list[ExecutionResult]:
        big = await pool.execute("t", "open('/mnt/data/big.bin', 'wb').write(b'0' * 2**21)")
        spin = await pool.execute("t", "while True:\n    pass")
        return [big, spin, await alive(pool)]

    big, spin, _ = with_pool(body, max_file_mb=1, cpu_seconds=4, wall_seconds=60)
    assert big.error is not None and "File too large" in big.error
    assert spin.error is not None and "CPU time limit of 4 s" in spin.error


@pytest.mark.slow
def test_output_beyond_the_limit_is_cut_and_says_so() -> None:
    """Output past the byte limit is dropped with a note of how much was cut."""
    result = with_pool(lambda pool: pool.execute("t", "print('x' * 5000)"), output_bytes=1000)
    assert result.error is None
    kept, note = result.logs[:1000], result.logs[1000:]
    assert kept == "x" * 1000
    assert "output truncated: 4001 more bytes beyond the 1000-byte limit" in note


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", ["bwrap", "unsandboxed"])
def test_no_server_secret_is_in_the_sandbox_environment(
    sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's keys are in no environment the code can read, its own or /proc's."""
    secrets = ["sk-model-key-do-not-leak", "server-api-key-do-not-leak"]
    monkeypatch.setenv("OPENAI_API_KEY", secrets[0])
    monkeypatch.setenv("ASSISTANTS_SERVER_API_KEYS", secrets[1])
    code = (
        "import os, glob\n"
        "seen = [str(dict(os.environ))]\n"
        "for path in glob.glob('/proc/*/environ'):\n"
        "    try:\n"
        "        seen.append(open(path, 'rb').read().decode(errors='replace'))\n"
        "    except OSError:\n"
        "        pass\n"
        "print('\\n'.join(seen))\n"
    )
    result = with_pool(lambda pool: pool.execute("t", code), sandbox=sandbox)
    assert result.error is None, result
    assert "PATH" in result.logs
    for secret in secrets:
        assert secret not in result.logs


@pytest.mark.slow
def test_two_sessions_see_neither_each_others_variables_nor_files() -> None:
    """Variables and /mnt/data files of one session are invisible to another."""
    peek = "import os\nprint(os.listdir('/mnt/data'))\nprint(x)"

    async def body(pool: InterpreterPool) -> ExecutionResult:
        await pool.execute("a", "x = 1", [WorkspaceFile("mine.txt", b"a's")])
        return await pool.execute("b", peek)

    result = with_pool(body)
    assert result.logs.startswith("[]\n")
    assert result.error is not None and result.error.startswith("NameError")


@pytest.mark.slow
def test_past_the_session_cap_the_least_recently_used_session_ends() -> None:
    """With room for two sessions, starting a third ends the one used longest ago."""

    async def body(pool: InterpreterPool) -> list[ExecutionResult]:
        await pool.execute("a", "x = 'a'")
        await pool.execute("b", "x = 'b'")
        await pool.execute("a", "pass")  # b is now the least recently used
        await pool.execute("c", "x = 'c'")
        return [await pool.execute("a", "print(x)"), await pool.execute("b", "print(x)")]

    kept, evicted = with_pool(body, max_sessions=2)
    assert kept.logs == "a\n"
    assert evicted.error is not None and evicted.error.startswith("NameError")


def test_a_missing_bubblewrap_makes_the_sandbox_unavailable(tmp_path: Path) -> None:
    """Without bwrap the pool refuses to run code and names the setting that allows it."""
    pool = InterpreterPool(InterpreterSettings(bwrap_path=str(tmp_path / "no-bwrap")))
    with pytest.raises(SandboxUnavailable) as raised:
        pool.check_available()
    message = str(raised.value)
    assert "no-bwrap" in message
    assert "ASSISTANTS_SERVER_INTERPRETER_SANDBOX=unsandboxed" in message
    with pytest.raises(SandboxUnavailable):
        asyncio.run(pool.execute("t", "print(1)"))


@pytest.mark.slow
def test_the_unsandboxed_mode_runs_code_when_the_operator_allows_it(tmp_path: Path) -> None:
    """With the unsandboxed mode set, code runs even though bwrap is missing."""
    settings = ServerSettings(
        interpreter_sandbox="unsandboxed", interpreter_bwrap_path=str(tmp_path / "no-bwrap")
    )

    async def body() -> ExecutionResult:
        pool = InterpreterPool(settings)
        try:
            pool.check_available()
            return await pool.execute("t", "print(6 * 7)", [WorkspaceFile("in.txt", b"hi")])
        finally:
            await pool.aclose()

    result = asyncio.run(body())
    assert result.error is None and result.logs == "42\n"


@pytest.mark.parametrize("name", ["../escape.txt", "dir/file.txt", ".hidden", ""])
def test_a_file_name_that_is_not_plain_is_refused(name: str) -> None:
    """A workspace file name with a folder, a leading dot or nothing is a clear error."""
    pool = InterpreterPool(InterpreterSettings())
    with pytest.raises(ValueError, match="not a plain file name"):
        asyncio.run(pool.execute("t", "pass", [WorkspaceFile(name, b"")]))


FORK_MANY = """
import os, time
children = []
try:
    for _ in range(100):
        pid = os.fork()
        if pid == 0:
            time.sleep(2)
            os._exit(0)
        children.append(pid)
except BlockingIOError:
    pass
for pid in children:
    os.waitpid(pid, 0)
print(len(children))
"""


@pytest.mark.slow
def test_the_process_limit_holds_for_each_session_separately() -> None:
    """Two sessions forking at once each stop below their own process limit (no shared count)."""

    async def body(pool: InterpreterPool) -> list[ExecutionResult]:
        await asyncio.gather(pool.execute("a", "pass"), pool.execute("b", "pass"))
        return list(
            await asyncio.gather(pool.execute("a", FORK_MANY), pool.execute("b", FORK_MANY))
        )

    results = with_pool(body, max_processes=32)
    for result in results:
        assert result.error is None, result
        forked = int(result.logs)
        assert 10 <= forked < 32, forked


@pytest.mark.slow
def test_kernels_of_a_virtual_environment_see_its_packages_but_not_the_project(
    tmp_path: Path,
) -> None:
    """A server in a virtual environment runs kernels there: the sandbox binds the environment
    (and its base Python) read-only, so packages installed only in it import, while files
    beside it stay out of reach."""
    import subprocess
    import sys
    import venv

    project = tmp_path / "project"
    environment = project / ".venv"
    venv.EnvBuilder(system_site_packages=True, symlinks=True).create(environment)
    probe = "import sys; print(sys.prefix)"
    site = subprocess.run(
        [
            str(environment / "bin" / "python"),
            "-c",
            "import site; print(site.getsitepackages()[0])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "only_in_this_environment.py").write_text("MARK = 'venv package'\n")
    (project / "secret.txt").write_text("project file")
    assert sys.prefix  # the server's own interpreter is irrelevant here: the setting names one

    async def body(pool: InterpreterPool) -> list[ExecutionResult]:
        code = (
            "import only_in_this_environment as m; print(m.MARK)\n"
            + probe
            + f"\ntry:\n    open({str(project / 'secret.txt')!r}).read(); print('READ')\n"
            "except OSError as error:\n    print('refused', type(error).__name__)\n"
        )
        return [await pool.execute("venv", code)]

    (result,) = with_pool(body, python=str(environment / "bin" / "python"))
    assert result.error is None, result.logs
    assert "venv package" in result.logs
    assert str(environment) in result.logs
    assert "refused" in result.logs and "READ" not in result.logs
