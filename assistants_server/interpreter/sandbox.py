"""The command that starts one session's kernel: bubblewrap, privilege drop, rlimits, ipykernel.

Under ``bwrap`` the kernel sees a private filesystem: read-only binds of ``/usr``, a few
files of ``/etc`` and the Python's installation prefix; a private ``/tmp`` (tmpfs, sized
by the memory limit); its workspace at ``/mnt/data``; and its socket directory, bound at the
same path as outside so one connection file serves both sides. Every namespace is unshared,
so there is no network: jupyter-client talks to the kernel over ``ipc`` (unix sockets) in
that directory. The environment is cleared and rebuilt from a fixed list (no server secret).

``RLIMIT_NPROC`` counts processes per real user id, and the kernel ignores it for root, so
a root server runs each session under its own unprivileged uid (``setpriv``, inside the
sandbox, with every capability dropped); a non-root server gets the same separation from
the user namespace bubblewrap creates. ``prlimit`` then sets the limits the kernel and
everything it starts inherit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from assistant_graph.assistants_server.interpreter.config import InterpreterSettings
from assistant_graph.assistants_server.interpreter.results import (
    PYTHON_MISSING,
    SANDBOX_MISSING,
    SANDBOX_NOT_LINUX,
    SandboxUnavailable,
)

WORKSPACE = "/mnt/data"
SANDBOX_TMP = "/tmp"  # noqa: S108 - a private tmpfs inside the sandbox
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "passwd",
    "group",
    "fonts",
    "mime.types",
)
"""The only parts of /etc the sandbox sees (no secrets among them)."""
TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
"""Root directories that are symlinks into /usr on merged-/usr systems."""
FIRST_SESSION_UID = 1_000_000
UIDS_PER_PROCESS = 512
"""A root server with process id ``p`` runs its sessions as uids ``FIRST_SESSION_UID +
p * UIDS_PER_PROCESS + slot``: distinct across live server processes (so no two sessions
share a process count), below 2**31 for any Linux pid."""
NO_FREE_UID = "All {count} sandbox uids of this server process are in use."


class SessionUids:
    """The unprivileged uids of a root server's sessions; a released one is reused last."""

    def __init__(self) -> None:
        """Start with every slot free."""
        self._in_use: set[int] = set()
        self._next = 0
        self._lock = threading.Lock()

    def acquire(self) -> int:
        """Take a free uid (rotating, so a just-ended session's processes are long gone)."""
        with self._lock:
            for _ in range(UIDS_PER_PROCESS):
                slot, self._next = self._next, (self._next + 1) % UIDS_PER_PROCESS
                if slot not in self._in_use:
                    self._in_use.add(slot)
                    return FIRST_SESSION_UID + os.getpid() * UIDS_PER_PROCESS + slot
        raise RuntimeError(NO_FREE_UID.format(count=UIDS_PER_PROCESS))

    def release(self, uid: int) -> None:
        """Give ``uid`` back."""
        with self._lock:
            self._in_use.discard((uid - FIRST_SESSION_UID) % UIDS_PER_PROCESS)


SESSION_UIDS = SessionUids()
"""One allocator per server process, shared by its pools."""


def running_as_root() -> bool:
    """Whether this server runs as root (then each session needs a uid of its own)."""
    return os.geteuid() == 0


def kernel_environment(python: Path, home: str) -> dict[str, str]:
    """Return the kernel's whole environment: nothing of the server's (no keys, no tokens)."""
    return {
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": f"{home}/.matplotlib",
        "IPYTHONDIR": f"{home}/.ipython",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def limits_command(settings: InterpreterSettings) -> list[str]:
    """Return ``prlimit`` with the session's rlimits, ready for the command to run under them."""
    megabyte = 1024 * 1024
    return [
        "prlimit",
        # SIGXCPU at the limit (reported as such); SIGKILL one second later if it is caught.
        f"--cpu={settings.cpu_seconds}:{settings.cpu_seconds + 1}",
        f"--as={settings.memory_mb * megabyte}",
        f"--nproc={settings.max_processes}",
        f"--fsize={settings.max_file_mb * megabyte}",
        "--core=0",
        "--",
    ]


def kernel_command(python: Path) -> list[str]:
    """Return the ipykernel launch; jupyter-client fills in ``{connection_file}``."""
    return [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def _python_prefix(python: Path) -> Path:
    return python.resolve().parents[1]


def _ancestors(path: Path) -> list[Path]:
    return [parent for parent in reversed(path.parents) if parent != Path("/")]


def bwrap_command(
    settings: InterpreterSettings, *, workspace: Path, socket_dir: Path, uid: int
) -> list[str]:
    """Return the full kernel command under bubblewrap for one session."""
    python = settings.kernel_python()
    args = [settings.bwrap_path, "--die-with-parent", "--new-session"]
    if running_as_root():
        args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        args += ["--unshare-cgroup-try", "--cap-add", "CAP_SETUID,CAP_SETGID"]
    else:
        args += ["--unshare-all", "--unshare-user", "--disable-userns"]
    memory = settings.memory_mb * 1024 * 1024
    args += ["--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(memory), "--tmpfs", SANDBOX_TMP]
    prefix = _python_prefix(python)
    read_only = [Path("/usr"), prefix]
    read_only += [Path("/etc") / name for name in ETC_FILES if (Path("/etc") / name).exists()]
    read_write = [(socket_dir, socket_dir), (workspace, Path(WORKSPACE))]
    made: set[Path] = set()
    for target in [*read_only, *(inside for _, inside in read_write)]:
        for directory in _ancestors(target):
            if directory not in made and directory != Path(SANDBOX_TMP):
                args += ["--perms", "0755", "--dir", str(directory)]
                made.add(directory)
    for path in read_only:
        args += ["--ro-bind", str(path), str(path)]
    for name in TOP_LEVEL:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    for outside, inside in read_write:
        args += ["--bind", str(outside), str(inside)]
    args += ["--chdir", WORKSPACE, "--clearenv"]
    for name, value in kernel_environment(python, SANDBOX_TMP).items():
        args += ["--setenv", name, value]
    args.append("--")
    if running_as_root():
        args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        args += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return args + limits_command(settings) + kernel_command(python)


def unsandboxed_command(settings: InterpreterSettings) -> list[str]:
    """Return the kernel command without a sandbox: rlimits only."""
    return limits_command(settings) + kernel_command(settings.kernel_python())


def check_sandbox(settings: InterpreterSettings) -> None:
    """Raise :class:`SandboxUnavailable` unless kernels can start as configured."""
    python = settings.kernel_python()
    probe = [str(python), "-c", "import ipykernel, jupyter_client"]
    if not python.exists() or subprocess.run(probe, capture_output=True).returncode:  # noqa: S603
        raise SandboxUnavailable(PYTHON_MISSING.format(python=str(python)))
    if shutil.which("prlimit") is None:
        raise SandboxUnavailable(SANDBOX_MISSING.format(what="prlimit (util-linux) is missing"))
    if settings.sandbox == "unsandboxed":
        return
    if not sys.platform.startswith("linux"):
        what = SANDBOX_NOT_LINUX.format(platform=sys.platform)
        raise SandboxUnavailable(SANDBOX_MISSING.format(what=what))
    bwrap = shutil.which(settings.bwrap_path)
    if bwrap is None:
        what = f"{settings.bwrap_path!r} was not found"
        raise SandboxUnavailable(SANDBOX_MISSING.format(what=what))
    if running_as_root() and shutil.which("setpriv") is None:
        what = "setpriv (util-linux), which drops root inside it, is missing"
        raise SandboxUnavailable(SANDBOX_MISSING.format(what=what))
    trial = [bwrap, "--ro-bind", "/", "/", "--unshare-net", "--", "true"]
    done = subprocess.run(trial, capture_output=True, text=True)  # noqa: S603
    if done.returncode:
        what = f"it fails here: {done.stderr.strip() or done.returncode}"
        raise SandboxUnavailable(SANDBOX_MISSING.format(what=what))
