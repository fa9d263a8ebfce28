"""Input arrays in memory the grader reads back: mutation seen by the trusted side.

A graded function must not change its arguments. Asking the student's process
whether it did is asking the suspect: its code can replace any check that runs
there. So the grader places every input array it sends (an argument, an array
inside a dict argument, a value kept with ``Sandbox.store``) in a file in
memory (a sealed ``memfd``) that it hands to the worker over a Unix socket
(``SCM_RIGHTS``), one file per call or stored value. The worker builds the
student's ndarrays directly on that memory (a shared, writable mapping), so an
in-place change lands in the grader's file. After the reply the grader reads
the bytes back and compares them with its own copy: only that comparison
decides what was mutated. A wrapper that copies its inputs first changes
nothing there, as it should.

The file is sealed against shrinking and growing before it is handed over, so
the student cannot make the grader's reads come up short; the grader reads
with ``pread`` (never a mapping of its own, which a truncation could turn into
SIGBUS). Stored values are checked after every call and restored when
changed, so each call sees the inputs the grader stored. A worker that closes
or empties its end of the socket only fails its own calls.

This module is the trusted side only; the worker's half is ``worker._take_inputs``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.sandbox import wire

_ALIGN = 64  # each array starts on a cache line, as NumPy's own allocations do
_KINDS = "biufc"  # the dtype kinds the wire format carries


class InputsError(Exception):
    """The worker's end of the channel cannot take inputs (closed or not reading)."""


@dataclass
class Region:
    """One array in a shared file: where it came from, and the bytes the grader put there."""

    at: list  # the path the worker puts it at, e.g. ["args", 0] or ["kwargs", "params", "W1"]
    offset: int
    original: bytes
    dtype: str
    shape: list

    def spec(self) -> dict:
        return {"at": self.at, "offset": self.offset, "dtype": self.dtype, "shape": self.shape}


@dataclass
class SharedFile:
    """A memory file holding some input arrays, kept open by the grader."""

    fd: int
    regions: list[Region] = field(default_factory=list)

    def changed(self) -> list[Region]:
        """The regions whose bytes differ from what the grader wrote (read back by the grader)."""
        return [r for r in self.regions if _read(self.fd, r.offset, len(r.original)) != r.original]

    def restore(self, regions: list[Region]) -> None:
        try:
            for r in regions:
                _write(self.fd, r.original, r.offset)
        except OSError:
            pass  # sealed files always take it; otherwise only this student's next call sees its own changes

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def shareable(value: Any) -> bool:
    """Whether ``value`` is an array the grader places in shared memory (others travel inline)."""
    return (isinstance(value, np.ndarray) and value.dtype.kind in _KINDS and not value.dtype.hasobject
            and 0 < value.size and value.ndim <= 8)


def split(value: Any, path: list) -> tuple[Any, list[tuple[list, np.ndarray]]]:
    """``value`` with its shareable arrays (itself, or the values of a dict) taken out.

    Returns the value to send inline (arrays replaced by None) and the arrays
    with the path the worker puts each one back at."""
    if shareable(value):
        return None, [(path, value)]
    if type(value) is dict and all(type(key) is str for key in value):  # keys as the wire carries them
        inline, arrays = {}, []
        for key, item in value.items():
            if shareable(item):
                inline[key] = None
                arrays.append((path + [key], item))
            else:
                inline[key] = item
        return inline, arrays
    return value, []


def place(arrays: list[tuple[list, np.ndarray]]) -> SharedFile:
    """A new sealed memory file holding ``arrays`` (C order, little-endian)."""
    shared = SharedFile(_new_file())
    try:
        offset = 0
        for path, array in arrays:
            dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
            data = np.ascontiguousarray(array, dtype=dtype).tobytes()
            shared.regions.append(Region(path, offset, data, dtype.str, list(array.shape)))
            offset += -(-len(data) // _ALIGN) * _ALIGN
        os.ftruncate(shared.fd, max(offset, 1))
        for r in shared.regions:
            _write(shared.fd, r.original, r.offset)
        _seal(shared.fd)
    except BaseException:
        shared.close()
        raise
    return shared


def split_call(args: list, kwargs: dict) -> tuple[list, dict, list[tuple[list, np.ndarray]]]:
    """A call's arguments with their shareable arrays taken out (see :func:`split`)."""
    inline_args, inline_kwargs, arrays = [], {}, []
    for i, value in enumerate(args):
        inline, found = split(value, ["args", i])
        inline_args.append(inline)
        arrays += found
    for name, value in kwargs.items():
        inline, found = split(value, ["kwargs", name])
        inline_kwargs[name] = inline
        arrays += found
    return inline_args, inline_kwargs, arrays


def mutations(call_file: SharedFile | None, stored: dict[int, SharedFile], args: list, kwargs: dict) -> list:
    """What the call changed in place, as ``[argument, dict key or None]`` pairs, read
    back from the shared files; stored values it changed are restored for the next call."""
    found = []
    if call_file is not None:
        for r in call_file.changed():
            found.append([r.at[1], r.at[2] if len(r.at) > 2 else None])
    changed = {}
    for key, shared in stored.items():
        regions = shared.changed()
        if regions:  # changed by this call, or behind the grader's back: the next call gets the original
            shared.restore(regions)
            changed[key] = regions
    if changed:
        for where, dict_key, ref in _references(args, kwargs):
            for r in changed.get(ref.path[0] if ref.path else None, ()):
                part = r.at[1] if len(r.at) > 1 else None  # the stored dict's key, None for an array
                tail = ref.path[1:]
                if not tail or part is None or tail[0] == part:  # the reference reaches that array
                    found.append([where, dict_key if dict_key is not None else part if not tail else None])
    unique = []
    for entry in found:
        if entry not in unique:
            unique.append(entry)
    return unique


def _references(args: list, kwargs: dict):
    """``(argument, top-level dict key or None, Ref)`` for every reference in the arguments."""
    def walk(value):
        if isinstance(value, wire.Ref):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                yield from walk(item)

    for where, value in list(enumerate(args)) + list(kwargs.items()):
        if type(value) is dict:
            for key, item in value.items():
                for ref in walk(item):
                    yield where, key, ref
        else:
            for ref in walk(value):
                yield where, None, ref


def spec(shared: SharedFile) -> dict:
    """What the request tells the worker about the file it receives."""
    return {"arrays": [r.spec() for r in shared.regions]}


class Channel:
    """The grader's end of the socket that hands a worker its input files."""

    def __init__(self) -> None:
        try:  # message boundaries, and a send to a closed peer fails at once
            self._ours, self._theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except (AttributeError, OSError):  # not on every system (macOS)
            self._ours, self._theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._ours.setblocking(False)
        try:
            self._ours.shutdown(socket.SHUT_RD)  # nothing the worker sends is ever read
        except OSError:
            pass

    def worker_fd(self) -> int:
        """The worker's end, to hand over when it starts (then :meth:`handed_over`)."""
        return self._theirs.fileno()

    def handed_over(self) -> None:
        """The worker holds its end now: the grader's copy of it is closed."""
        if self._theirs is not None:
            self._theirs.close()
            self._theirs = None

    def send(self, tag: int, shared: SharedFile) -> None:
        """Hand ``shared`` to the worker, labelled with the request it belongs to."""
        try:
            socket.send_fds(self._ours, [str(tag).encode()], [shared.fd])
        except (BlockingIOError, InterruptedError):
            raise InputsError("it stopped taking the inputs the grader hands over") from None
        except OSError as exc:
            if exc.errno in (errno.EPIPE, errno.ECONNREFUSED, errno.ECONNRESET, errno.ENOTCONN, errno.EBADF):
                raise InputsError("it closed the channel the grader hands the inputs over") from None
            raise InputsError(f"its inputs could not be handed over ({exc.strerror})") from None

    def close(self) -> None:
        self.handed_over()
        if self._ours is not None:
            self._ours.close()
            self._ours = None


def _new_file() -> int:
    """A file in memory only the grader and the worker it is sent to can reach."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create("grader-inputs", os.MFD_CLOEXEC | getattr(os, "MFD_ALLOW_SEALING", 0))
        except OSError:
            pass
    with tempfile.TemporaryFile() as f:  # no memfd (not Linux): an unlinked file serves
        return os.dup(f.fileno())


def _seal(fd: int) -> None:
    seals = [getattr(fcntl, n, 0) for n in ("F_SEAL_SHRINK", "F_SEAL_GROW", "F_SEAL_SEAL")]
    if hasattr(fcntl, "F_ADD_SEALS"):
        try:
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals[0] | seals[1] | seals[2])
        except OSError:
            pass  # not a memfd: reads stay safe (pread), a truncation reads as changed


def _read(fd: int, offset: int, size: int) -> bytes:
    chunks, done = [], 0
    while done < size:
        chunk = os.pread(fd, min(size - done, 1 << 30), offset + done)
        if not chunk:
            break
        chunks.append(chunk)
        done += len(chunk)
    return b"".join(chunks)


def _write(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view[: 1 << 30], offset)
        view, offset = view[n:], offset + n

