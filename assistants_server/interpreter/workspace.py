"""A session's private directories on the host, and the files that move in and out of them.

The sandboxed code controls the workspace, so the server never follows a link in it: files
are read and written relative to directory descriptors with ``O_NOFOLLOW``, and only
regular files are returned (a symlink to a server file stays a symlink, unread).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

from assistant_graph.assistants_server.interpreter.results import WorkspaceFile

BAD_FILE_NAME = (
    "Workspace file name {name!r} is not a plain file name: give a name without '/' or a "
    "leading '.', such as data.csv (it appears as /mnt/data/<name>)."
)
Snapshot = dict[str, tuple[int, int]]


def check_names(files: Iterable[WorkspaceFile]) -> None:
    """Raise ``ValueError`` unless every file has a plain name (no folder, not hidden)."""
    for item in files:
        if not item.name or "/" in item.name or item.name.startswith(".") or "\0" in item.name:
            raise ValueError(BAD_FILE_NAME.format(name=item.name))


class Workspace:
    """``<root>/data`` (seen as /mnt/data) and ``<root>/run`` (the kernel's sockets)."""

    def __init__(self, root: Path, uid: int | None) -> None:
        """Create the directories, owned by the session's uid when it has one."""
        self.root = root
        self.data = root / "data"
        self.run = root / "run"
        self.uid = uid
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for directory in (self.data, self.run):
            directory.mkdir(mode=0o700, exist_ok=True)
            if uid is not None:
                os.chown(directory, uid, uid)

    def give(self, path: Path) -> None:
        """Hand a file the server wrote (the connection file) to the session's uid."""
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)

    def put(self, files: Iterable[WorkspaceFile]) -> None:
        """Write ``files`` into the workspace, replacing what has their names (links too).

        Raises ``OSError`` if a name cannot be written (the code made it a directory).
        """
        directory = os.open(self.data, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for item in files:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(item.name, dir_fd=directory)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                fd = os.open(item.name, flags, 0o644, dir_fd=directory)
                with os.fdopen(fd, "wb") as handle:
                    if self.uid is not None:
                        os.fchown(handle.fileno(), self.uid, self.uid)
                    handle.write(item.data)
        finally:
            os.close(directory)

    def snapshot(self) -> Snapshot:
        """Return modification time and size of every regular file, by path under /mnt/data."""
        found: Snapshot = {}
        for top, _dirs, names, dir_fd in os.fwalk(self.data):
            relative = os.path.relpath(top, self.data)
            for name in names:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if stat.S_ISREG(info.st_mode):
                    key = name if relative == "." else f"{relative}/{name}"
                    found[key] = (info.st_mtime_ns, info.st_size)
        return found

    def changed_since(self, before: Snapshot) -> list[WorkspaceFile]:
        """Read the regular files created or changed since ``before`` (never following links)."""
        changed = []
        for name, signature in sorted(self.snapshot().items()):
            if before.get(name) != signature:
                data = self._read(name)
                if data is not None:
                    changed.append(WorkspaceFile(name=name, data=data))
        return changed

    def _read(self, name: str) -> bytes | None:
        fds: list[int] = []
        try:
            fds.append(os.open(self.data, os.O_RDONLY | os.O_DIRECTORY))
            *folders, leaf = name.split("/")
            for folder in folders:
                flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                fds.append(os.open(folder, flags, dir_fd=fds[-1]))
            fds.append(os.open(leaf, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fds[-1]))
            if not stat.S_ISREG(os.fstat(fds[-1]).st_mode):
                return None
            with os.fdopen(os.dup(fds[-1]), "rb") as handle:
                return handle.read()
        except OSError:  # replaced by a link or removed meanwhile
            return None
        finally:
            for fd in fds:
                os.close(fd)

    def remove(self) -> None:
        """Delete the session's directories."""
        shutil.rmtree(self.root, ignore_errors=True)
