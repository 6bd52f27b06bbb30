"""Durable output: every file is written to a temporary name in its own directory and renamed.

A reader (or a crash) never sees a half-written file: the new content takes the file's name in
one ``os.replace`` after it is complete and flushed to disk (``os.fsync``), so the name holds
either the old complete file or the new complete one. The directory is fsynced after the rename
so that the rename itself survives a power loss.

* :func:`atomic_write_bytes`, :func:`atomic_write_text`: whole contents at once.
* :func:`atomic_output`: for writers that want a path (pandas ``to_csv``/``to_parquet``,
  matplotlib ``savefig``, ONNX): yields a temporary path with the same suffix (writers infer
  the format from it), published on success, removed on an exception.
* :func:`atomic_directory`: a whole directory (a model directory): built under a temporary name
  beside the target, checked (e.g. loaded) and then swapped in. On Linux the swap is one
  ``renameat2(RENAME_EXCHANGE)``; elsewhere the old directory is renamed aside, the new one
  renamed in and the old one removed, and :func:`recover_directory` puts the old one back if a
  kill struck between the two renames. A kill at any point leaves the old complete directory or
  the new complete one under the target name (or, in the fallback's window, the old one aside,
  restored by the next write).

Temporary names start with ``.`` and carry the writer's process id: ``.NAME.PID-TOKEN.tmpSUFFIX``
(files), ``.NAME.PID-TOKEN.tmpdir`` (directories) and ``.NAME.PID-TOKEN.old`` (a directory set
aside). Leftovers of processes that no longer run are removed by the next write of the same name.

This module knows nothing of steam: the optimizer and the scenarios import it, never the reverse.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100
_renameat2: Callable | None | bool = False  # False: not looked up yet; None: not available


def _token() -> str:
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Flush a directory's entries (a rename or a new file in it) to disk; best effort where a
    platform cannot open directories (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a directory: nothing more can be done
        pass
    finally:
        os.close(fd)


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush one file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


_KINDS = {"file": r"tmp(\..*)?", "dir": r"tmpdir", "old": r"old"}


def _leftovers(target: Path, kind: str) -> list[Path]:
    """Temporary names of ``target`` (``kind``: 'file', 'dir' or 'old', see the module docstring)
    left by processes that no longer run."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)-[0-9a-f]+\.{_KINDS[kind]}$")
    found = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        m = pattern.match(entry.name)
        if m and not _pid_alive(int(m.group(1))):
            found.append(entry)
    return found


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def _reserve_temp_file(path: Path) -> Path:
    """Create (exclusively, mode 0666 less the umask, as a plain ``open`` would) an empty
    temporary file beside ``path`` whose name ends with ``path``'s suffix."""
    for stale in _leftovers(path, "file"):
        _remove(stale)
    while True:
        tmp = path.parent / f".{path.name}.{_token()}.tmp{path.suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - a 32-bit random token repeated
            continue
        os.close(fd)
        return tmp


def _publish(tmp: Path, path: Path, fsync: bool) -> None:
    if fsync:
        fsync_file(tmp)
    os.replace(tmp, path)
    if fsync:
        fsync_directory(path.parent)


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, fsync: bool = True) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) to write to; on leaving the block without an
    exception it is flushed and renamed to ``path``; on an exception it is removed and ``path``
    keeps what it held before. The parent directory must exist."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"{path}: is a directory; expected a file name to write", str(path))
    tmp = _reserve_temp_file(path)
    try:
        yield tmp
        _publish(tmp, path, fsync)
    except BaseException:
        _remove(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename; returns ``path``."""
    path = Path(path)
    with atomic_output(path, fsync=fsync) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", fsync: bool = True) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename; returns ``path``."""
    path = Path(path)
    with atomic_output(path, fsync=fsync) as tmp:
        tmp.write_text(text, encoding=encoding)
    return path


# ===================================================================================  directories


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux renameat2 RENAME_EXCHANGE); False if this
    platform or file system cannot."""
    global _renameat2
    if _renameat2 is False:
        try:
            fn = ctypes.CDLL(None, use_errno=True).renameat2
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            fn.restype = ctypes.c_int
            _renameat2 = fn
        except (OSError, AttributeError):
            _renameat2 = None
    if _renameat2 is None:
        return False
    rc = _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, f"cannot swap {a} and {b}: {os.strerror(err)}")


def recover_directory(target: str | os.PathLike[str]) -> bool:
    """Finish what a killed directory swap left: if ``target`` is missing and an old copy was set
    aside (``.NAME.PID-TOKEN.old``), rename it back; remove set-aside copies that a completed
    swap superseded and temporary directories of processes no longer running. True if the old
    directory was restored."""
    target = Path(target)
    restored = False
    aside = sorted(_leftovers(target, "old"), key=lambda p: p.stat().st_mtime)
    if aside and not target.exists():
        os.rename(aside[-1], target)
        fsync_directory(target.parent)
        log.warning("%s: restored the previous directory from %s (a replacement was interrupted)", target, aside[-1].name)
        aside = aside[:-1]
        restored = True
    for stale in aside + _leftovers(target, "dir"):
        log.info("removing %s, left by an interrupted write of %s", stale, target)
        _remove(stale)
    return restored


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fsync_file(Path(dirpath) / name)
        fsync_directory(dirpath)


def swap_directory(new: Path, target: Path) -> None:
    """Put the complete directory ``new`` (beside ``target``) in place of ``target``."""
    parent = target.parent
    if not target.exists():
        os.rename(new, target)
        fsync_directory(parent)
        return
    if not target.is_dir() or target.is_symlink():
        raise NotADirectoryError(errno.ENOTDIR, f"{target}: exists and is not a directory; expected a directory to replace", str(target))
    if _exchange(new, target):  # ``new`` now names the old directory
        fsync_directory(parent)
        shutil.rmtree(new)
        return
    aside = parent / f".{target.name}.{_token()}.old"
    os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(aside, target)
        raise
    fsync_directory(parent)
    shutil.rmtree(aside)


@contextmanager
def atomic_directory(target: str | os.PathLike[str], *, check: Callable[[Path], object] | None = None,
                     fsync: bool = True) -> Iterator[Path]:
    """A new empty directory beside ``target`` to fill; on leaving the block without an exception,
    ``check(directory)`` runs (it raises if the directory is not fit, e.g. does not load), every
    file is flushed and the directory is swapped in for ``target`` (created if missing; the old
    one removed). On an exception the temporary directory is removed and ``target`` is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_directory(target)
    tmp = target.parent / f".{target.name}.{_token()}.tmpdir"
    tmp.mkdir()
    try:
        yield tmp
        if check is not None:
            check(tmp)
        if fsync:
            _fsync_tree(tmp)
        swap_directory(tmp, target)
    except BaseException:
        _remove(tmp)
        raise
