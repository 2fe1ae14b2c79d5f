"""Host-side file access beneath an agent's worktree that never follows the agent's links.

The agent controls its worktree: between a check of a path and its use it can swap a directory
for a symbolic link, plant a FIFO that hangs a reader, or (as root in a container) ``mknod`` a
device. So every host-side read or write of an agent's tree goes through this module:

* paths are resolved **component by component beneath the worktree without following any
  symbolic link** — with ``openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`` where the kernel has
  it, else by a walk of ``O_NOFOLLOW | O_DIRECTORY`` directory descriptors;
* the final component is opened ``O_PATH`` (nothing is opened for reading yet), ``fstat``-ed, and
  anything but a regular file or a directory (FIFOs, devices, sockets, links) is refused; a regular
  file is then re-opened through its own descriptor, so it is the very file that was checked;
* the size is checked before reading and reads stop at the cap (a sparse 2 GiB file costs nothing);
* writes create a temporary file beneath the parent's descriptor and ``renameat`` it into place
  (atomic, and a symbolic link at the target is refused, never followed);
* ``.git`` (file or directory) at any depth is never written: it is the host git's metadata.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import posixpath
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from kwaak.executors.base import PathOutsideWorkspace

DEFAULT_MAX_READ_BYTES = 16 * 1024 * 1024
_SYS_OPENAT2 = 437  # the same number on every Linux architecture
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_BENEATH = 0x08
_CLOEXEC = os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_PATH_FLAGS = getattr(os, "O_PATH", 0) | os.O_NOFOLLOW | _CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK | _CLOEXEC
_PROTECTED = ".git"


class FileRefused(PathOutsideWorkspace):
    """kwaak refuses this file operation; the message is written for the model and the user."""


class SymlinkRefused(FileRefused):
    """The path is, or goes through, a symbolic link (never followed on the host)."""


class SpecialFileRefused(FileRefused):
    """The path is a FIFO, a device or a socket."""


class FileTooLarge(FileRefused):
    """The file is larger than the read cap."""


class ProtectedPath(FileRefused):
    """The path is (inside) ``.git``, which tools never write."""


def relative_parts(root: Path, path: str) -> list[str]:
    """The components of ``path`` (relative, or absolute under ``root``) below ``root``.

    Raises:
        PathOutsideWorkspace: the path leaves ``root`` (``..``, another absolute path) or holds a NUL byte.
    """
    if "\x00" in path:
        msg = f"path {path!r} contains a NUL byte"
        raise PathOutsideWorkspace(msg)
    normalized = posixpath.normpath(path)
    if posixpath.isabs(normalized):
        base = posixpath.normpath(str(root))
        if normalized != base and not normalized.startswith(base.rstrip("/") + "/"):
            msg = f"path {path!r} is outside the workspace"
            raise PathOutsideWorkspace(msg)
        normalized = posixpath.relpath(normalized, base)
    parts = [p for p in normalized.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        msg = f"path {path!r} is outside the workspace"
        raise PathOutsideWorkspace(msg)
    return parts


def is_protected(parts: list[str]) -> bool:
    """Whether a path with these components is (inside) a ``.git`` file or directory."""
    return any(part.lower() == _PROTECTED for part in parts)


def read_beneath(root: Path, path: str, *, max_bytes: int = DEFAULT_MAX_READ_BYTES) -> bytes:
    """Read the regular file ``path`` beneath ``root`` without following links.

    Raises:
        FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError: as for open(2).
        SymlinkRefused, SpecialFileRefused, FileTooLarge, PathOutsideWorkspace: refused.
    """
    parts = relative_parts(root, path)
    shown = "/".join(parts) or "."
    with _opened(_open_path(root, parts)) as pfd:
        st = os.fstat(pfd)
        _check_regular(st, shown, root, parts)
        if st.st_size > max_bytes:
            raise FileTooLarge(_too_large(shown, st.st_size, max_bytes))
        with _opened(_reopen_for_read(pfd, parts, root)) as fd:
            again = os.fstat(fd)
            if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(again.st_mode):
                msg = f"`{shown}` changed while it was being opened; try again"
                raise SpecialFileRefused(msg)
            return _read_capped(fd, shown, max_bytes)


def write_beneath(root: Path, path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` beneath ``root`` atomically, creating parent directories.

    Raises:
        ProtectedPath: the path is (inside) ``.git``.
        SymlinkRefused: the path or a parent is a symbolic link.
        IsADirectoryError, NotADirectoryError, PermissionError: as for open(2).
    """
    parts = relative_parts(root, path)
    shown = "/".join(parts) or "."
    if not parts:
        raise IsADirectoryError(errno.EISDIR, "the project root is a directory", shown)
    if is_protected(parts):
        msg = f"`{shown}` is git metadata (`.git`); tools never write it. Use the `git` tool or a shell command."
        raise ProtectedPath(msg)
    with _opened(_walk_dirs(root, parts[:-1], create=True)) as dfd:
        name = parts[-1]
        try:
            existing: os.stat_result | None = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            existing = None
        if existing is not None:
            if stat.S_ISLNK(existing.st_mode):
                raise SymlinkRefused(_symlink_message(shown, dfd, name))
            if stat.S_ISDIR(existing.st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory", shown)
            if not stat.S_ISREG(existing.st_mode):
                raise SpecialFileRefused(_special_message(shown, existing.st_mode))
        _replace(dfd, name, data, existing)


def _replace(dfd: int, name: str, data: bytes, existing: os.stat_result | None) -> None:
    tmp = f".{name[:200]}.kwaak-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC, 0o666, dir_fd=dfd)
    try:
        try:
            if existing is not None:
                os.fchmod(fd, stat.S_IMODE(existing.st_mode))
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if existing is not None:
                _newer_second(fd, existing)
        finally:
            os.close(fd)
        os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dfd)
        raise


def _newer_second(fd: int, old: os.stat_result) -> None:
    """Give a rewritten file a modification second after the old one's.

    Python trusts a ``.pyc`` whose recorded source mtime (whole seconds) and size match: an edit that
    keeps the size, in the same second as the last import (an agent fixing ``a - b`` into ``a + b``
    right after a test run), would leave tests running the old code.
    """
    now = os.fstat(fd)
    if int(now.st_mtime) == int(old.st_mtime):
        os.utime(fd, ns=(now.st_atime_ns, (int(old.st_mtime) + 1) * 1_000_000_000))


@contextlib.contextmanager
def _opened(fd: int) -> Iterator[int]:
    try:
        yield fd
    finally:
        os.close(fd)


def _open_path(root: Path, parts: list[str]) -> int:
    """An ``O_PATH`` descriptor of ``root/parts`` reached without following any link."""
    if parts and _openat2_usable():
        rfd = os.open(root, _DIR_FLAGS)
        try:
            return _openat2(rfd, "/".join(parts), _PATH_FLAGS)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.EXDEV, errno.ENOSYS):
                raise
            # A link on the way: the walk below names it (and refuses it) precisely.
        finally:
            os.close(rfd)
    with _opened(_walk_dirs(root, parts[:-1], create=False)) as dfd:
        return os.open(parts[-1] if parts else ".", _PATH_FLAGS, dir_fd=dfd)


def _walk_dirs(root: Path, parts: list[str], *, create: bool) -> int:
    """A descriptor of the directory ``root/parts``, each component opened beneath the previous one."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for index, part in enumerate(parts):
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                shown = "/".join(parts[: index + 1])
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                    if stat.S_ISLNK(st.st_mode):
                        raise SymlinkRefused(_symlink_message(shown, fd, part)) from exc
                    if stat.S_ISDIR(st.st_mode):  # swapped back and forth while we looked
                        msg = f"`{shown}` changed while it was being opened (it was briefly a symbolic link)"
                        raise SymlinkRefused(msg) from exc
                    raise NotADirectoryError(errno.ENOTDIR, "is not a directory", shown) from exc
                raise
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _reopen_for_read(pfd: int, parts: list[str], root: Path) -> int:
    """Open the file behind an ``O_PATH`` descriptor for reading (the same inode, never a FIFO wait)."""
    try:
        return os.open(f"/proc/self/fd/{pfd}", _READ_FLAGS)
    except FileNotFoundError:  # no /proc: open the name again, beneath its parent, without links
        with _opened(_walk_dirs(root, parts[:-1], create=False)) as dfd:
            return os.open(parts[-1], _READ_FLAGS | os.O_NOFOLLOW, dir_fd=dfd)


def _read_capped(fd: int, shown: str, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:  # it grew while being read
            raise FileTooLarge(_too_large(shown, size, max_bytes))
    return b"".join(chunks)


def _check_regular(st: os.stat_result, shown: str, root: Path, parts: list[str]) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", shown)
    if stat.S_ISLNK(st.st_mode):
        with _opened(_walk_dirs(root, parts[:-1], create=False)) as dfd:
            raise SymlinkRefused(_symlink_message(shown, dfd, parts[-1]))
    raise SpecialFileRefused(_special_message(shown, st.st_mode))


def _symlink_message(shown: str, dfd: int, name: str) -> str:
    try:
        target = os.readlink(name, dir_fd=dfd)
    except OSError:
        target = "?"
    return (
        f"`{shown}` is a symbolic link (to `{target}`); kwaak's file tools never follow links, so nothing "
        "outside the project can be reached through them. Use the path it points to if that is inside the project."
    )


def _special_message(shown: str, mode: int) -> str:
    kind = (
        "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a regular file"
    )
    return f"`{shown}` is {kind}; file tools only read and write regular files."


def _too_large(shown: str, size: int, max_bytes: int) -> str:
    return (
        f"`{shown}` is {_human(size)}, more than the {_human(max_bytes)} file tools read "
        "(`limits.max_read_file_bytes`); read parts of it with `shell_command`, e.g. `sed -n '1,200p' FILE`."
    )


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover


# ---------------------------------------------------------------------------- openat2


class _OpenHow(ctypes.Structure):
    _fields_ = (("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64))


_openat2_state: list[bool] = []


def _openat2_usable() -> bool:
    """Whether this kernel (and seccomp policy) offers openat2; probed once."""
    if not _openat2_state:
        try:
            with _opened(os.open("/", _DIR_FLAGS)) as rfd:
                os.close(_openat2(rfd, ".", _PATH_FLAGS))
            _openat2_state.append(True)
        except (OSError, AttributeError):
            _openat2_state.append(False)
    return _openat2_state[0]


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _openat2(dirfd: int, path: str, flags: int) -> int:
    libc = _libc()
    how = _OpenHow(flags, 0, _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS)
    fd = libc.syscall(
        ctypes.c_long(_SYS_OPENAT2),
        ctypes.c_int(dirfd),
        ctypes.c_char_p(os.fsencode(path)),
        ctypes.byref(how),
        ctypes.c_size_t(ctypes.sizeof(how)),
    )
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return int(fd)
