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


# The descriptors of the build locks this process holds. A forked child (a PDF worker) closes its copies at
# once: a flock belongs to the open file, which fork shares, so a worker that outlived a killed build would
# otherwise hold the lock and refuse the next build. (O_CLOEXEC only covers exec, not a fork.)
_HELD_LOCKS: set[int] = set()


def _drop_inherited_locks() -> None:
    for fd in _HELD_LOCKS:
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD_LOCKS.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


class BuildLock:
    """An exclusive lock beside the output folder: a second build is refused, not queued.

    The lock is keyed on the folder's real path, so a build through a symbolic link and one through
    its target exclude each other. Only the process that took it holds it: forked workers do not.
    """

    def __init__(self, out_dir: Path):
        self.real = real_output(out_dir)
        self.path = self.real.parent / f".{self.real.name}.lock"
        self._fd: int | None = None

    def __enter__(self) -> BuildLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        _HELD_LOCKS.add(fd)  # before the lock is taken: a fork from another thread must not keep it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _HELD_LOCKS.discard(fd)
            os.close(fd)
            raise BuildError(Problem(str(self.path), None, None,
                                     "another matchguide run (a build or an email run) is using this output folder; wait for it to finish")) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            _HELD_LOCKS.discard(self._fd)
            os.close(self._fd)
            self._fd = None


def real_output(out_dir: Path) -> Path:
    """The output folder as it really is on disk: symbolic links resolved, once, for the lock and the switch.

    A link named as the output folder stays a link: the build replaces the folder it points to.
    """
    return Path(os.path.realpath(out_dir))


class StagedOutput:
    """A new output tree built beside the old one and switched in atomically.

    Use it as a context manager: unless `commit()` switched the tree in, leaving the block throws it
    away, so the previous output is untouched by a failed or interrupted build.
    """

    def __init__(self, out_dir: Path, real: Path | None = None):
        self.out_dir = out_dir  # as the user named it (for messages); `real` is where the tree is switched in
        self.real = real or real_output(out_dir)  # pass the lock's `real`: the path is resolved once
        if self.real.exists() and not self.real.is_dir():
            raise BuildError(Problem(str(out_dir), None, None, "the output folder is a file, not a folder; "
                                     "move it away or choose another --out"))
        self.previous = self.real if self.real.is_dir() else None
        self.staging = self.real.parent / f".{self.real.name}.staging"
        self.trash = self.real.parent / f".{self.real.name}.old"
        # Debris of a killed build is ours to clear: we hold the build lock. (An older version could leave
        # the staging name as a link to the output: remove the link, never what it points to.)
        for leftover in (self.staging, self.trash):
            if leftover.is_symlink() or leftover.is_file():
                leftover.unlink()
            elif leftover.exists():
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
            os.rename(self.staging, self.real)
        elif not _exchange(self.staging, self.real):
            # No atomic exchange on this filesystem: two renames, the old tree kept until the end.
            os.rename(self.real, self.trash)
            os.rename(self.staging, self.real)
            self.staging = self.trash
        fsync_dir(self.real.parent)
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
