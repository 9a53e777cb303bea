"""Staged, atomic, guarded writes under the output folder.

A build writes a complete new tree into a staging folder beside the output
folder and swaps it in with one atomic rename at the end. A failed or killed
build leaves the previous output exactly as it was. Files that did not change
are hard-linked from the previous output instead of rewritten.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import fcntl
import os
import shutil
from pathlib import Path, PurePosixPath

from generator.errors import BuildError, Problem

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class BuildLock:
    """An exclusive lock beside the output folder: a second build is refused, not queued."""

    def __init__(self, out_dir: Path):
        self.path = out_dir.parent / f".{out_dir.name}.lock"
        self._fd: int | None = None

    def __enter__(self) -> BuildLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise BuildError(Problem(str(self.path), None, None,
                                     "another matchguide run (a build or an email run) is using this output folder; wait for it to finish")) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class StagedOutput:
    """A new output tree built beside the old one and switched in atomically.

    Use it as a context manager: unless `commit()` switched the tree in, leaving the block throws it
    away, so the previous output is untouched by a failed or interrupted build.
    """

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.previous = out_dir if out_dir.is_dir() else None
        self.staging = out_dir.parent / f".{out_dir.name}.staging"
        self.trash = out_dir.parent / f".{out_dir.name}.old"
        # Debris of a killed build is ours to clear: we hold the build lock.
        for leftover in (self.staging, self.trash):
            if leftover.exists():
                shutil.rmtree(leftover)
        self.staging.mkdir(parents=True)
        self.written: set[str] = set()
        self._folders: set[Path] = set()  # made already: a guide's two files share one
        self.committed = False

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            self.abort()

    def path(self, rel: str) -> Path:
        """The staging path for a relative output path; refuses anything outside the output folder."""
        pure = PurePosixPath(rel)
        if pure.is_absolute() or not pure.parts or any(p in ("..", "") for p in pure.parts) or "\0" in rel:
            raise BuildError(Problem(rel, None, None, "refusing to write outside the output folder"))
        return self.staging.joinpath(*pure.parts)

    def _claim(self, rel: str) -> Path:
        if rel in self.written:
            raise BuildError(Problem(rel, None, None, "written twice in one build (two guides share a path?)"))
        self.written.add(rel)
        target = self.path(rel)
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        return target

    def write_bytes(self, rel: str, data: bytes) -> Path:
        """Write a file into the staging tree (made durable once, at the switch)."""
        target = self._claim(rel)
        try:
            atomic_write(target, data, durable=False)
        except OSError as exc:
            raise BuildError(Problem(rel, None, None, f"cannot write: {exc.strerror or exc}")) from None
        return target

    def write_text(self, rel: str, text: str) -> Path:
        """Write UTF-8 text atomically."""
        return self.write_bytes(rel, text.encode("utf-8"))

    def reserve(self, rel: str) -> Path:
        """Claim a path that another process (a PDF worker) will write; returns the staging path."""
        return self._claim(rel)

    def keep(self, rel: str, old_rel: str | None = None) -> bool:
        """Carry a file over from the previous output unchanged (a hard link); False when there is none."""
        if self.previous is None:
            return False
        source = self.previous.joinpath(*PurePosixPath(old_rel or rel).parts)
        if not source.is_file():
            return False
        target = self._claim(rel)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        return True

    def copy_tree(self, source: Path, rel: str) -> None:
        """Copy a folder of assets into the output (symlinks are not followed out of it)."""
        root = source.resolve()
        for path in sorted(source.rglob("*")):
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                raise BuildError(Problem(str(path), None, None, "asset is a link to a file outside its folder"))
            if path.is_file():
                self.write_bytes(f"{rel}/{path.relative_to(source).as_posix()}", path.read_bytes())

    def discard_tree(self, rel: str) -> None:
        """Remove a working folder from the staging tree before the switch (nothing in it is published)."""
        gone = self.path(rel)
        shutil.rmtree(gone, ignore_errors=True)
        self.written = {w for w in self.written if not w.startswith(f"{rel}/")}
        self._folders = {f for f in self._folders if not f.is_relative_to(gone)}

    def commit(self) -> None:
        """Switch the staging tree in as the output folder in one atomic step."""
        _sync_tree(self.staging)
        if self.previous is None:
            os.rename(self.staging, self.out_dir)
        elif not _exchange(self.staging, self.out_dir):
            # No atomic exchange on this filesystem: two renames, the old tree kept until the end.
            os.rename(self.out_dir, self.trash)
            os.rename(self.staging, self.out_dir)
            self.staging = self.trash
        fsync_dir(self.out_dir.parent)
        shutil.rmtree(self.staging, ignore_errors=True)
        self.committed = True

    def abort(self) -> None:
        """Throw the staging tree away; the previous output is untouched."""
        shutil.rmtree(self.staging, ignore_errors=True)


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")  # runs ldconfig: once per process is enough
    return ctypes.CDLL(name, use_errno=True) if name else None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False when unsupported."""
    libc = _libc()
    if libc is None or not hasattr(libc, "renameat2"):
        return False
    result = libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write a file so that readers see the old bytes or the new, never a part (temp file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sync_tree(root: Path) -> None:
    """Make a whole staged tree durable before it is switched in: one syncfs, not an fsync per file."""
    libc = _libc()
    fd = os.open(root, os.O_RDONLY)
    try:
        if libc is None or not hasattr(libc, "syncfs") or libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename in this folder durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
