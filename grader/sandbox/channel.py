"""The grader's end of a worker's pipes and output: requests out; replies, callbacks and prints in.

A request is one line of ``wire.py``'s plain data, written within a deadline
(``write_all``); a reply is read as one line of at most ``reply_mb``, within
the same deadline (:meth:`Pipes.read_line`). A capstone's stand-ins may ask
the grader for its trusted layers while the call runs: those callbacks are
answered here (:meth:`Pipes.serve_callbacks`) until the reply comes. What
the student's code prints goes to a file the grader holds open (:class:`Output`).
Every reply is untrusted data; what it means, what it costs the student and what
the student reads is ``client.Sandbox``'s and ``failures.py``'s business.
"""

from __future__ import annotations

import errno
import os
import select
import time
from typing import Any, Callable

from grader.sandbox import wire
from grader.text import one_line, sanitize


class ReplyTooLarge(Exception):
    """A reply went past the limit on its size: the worker must be replaced."""


class Pipes:
    """The pipe to the worker and the pipe from it, and what was read past the last reply."""

    def __init__(self, to_child: int, from_child: int, max_bytes: int):
        self.to_child = to_child
        self.from_child = from_child
        self.max_bytes = max_bytes
        self._buffer = b""

    def send(self, message: dict, deadline: float) -> None:
        write_all(self.to_child, wire.dumps(message), deadline)

    def read_line(self, deadline: float) -> bytes:
        """The next line from the worker, without its newline.

        Raises TimeoutError past ``deadline``, EOFError when the worker closed
        its end, ReplyTooLarge past ``max_bytes`` (what was read is dropped)."""
        # Chunks are kept in a list and joined once: appending to one bytes object
        # would copy the whole reply again for every chunk of a large one.
        chunks, size = [self._buffer], len(self._buffer)
        while b"\n" not in chunks[-1]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._buffer = b"".join(chunks)
                raise TimeoutError
            ready, _, _ = select.select([self.from_child], [], [], remaining)
            if not ready:
                self._buffer = b"".join(chunks)
                raise TimeoutError
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                self._buffer = b"".join(chunks)
                raise EOFError
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                self._buffer = b""
                raise ReplyTooLarge
        line, _, self._buffer = b"".join(chunks).partition(b"\n")
        return line

    def serve_callbacks(self, line: bytes, deadline: float, timeout: float,
                        callback: Callable[[str, list], Any] | None) -> tuple[bytes, float]:
        """Answer the worker's callbacks until its reply comes; (the reply's line, the seconds
        spent answering). The deadline moves by that time, at most by twice the call's
        own limit in all (a student's loop of callbacks cannot hold the grader for long)."""
        served = 0.0
        while True:
            try:
                msg = wire.loads(line)
            except wire.WireError:
                return line, served  # garbage: the caller says so
            if msg.get("op") != "callback":
                return line, served
            began = time.monotonic()
            if callback is None:
                reply = {"ok": False, "error": "no callback is available here"}
            else:
                try:
                    value = callback(str(msg.get("func")), wire.decode(msg.get("args")))
                    reply = {"ok": True, "value": wire.encode(value)}
                except Exception as exc:  # the student's arguments did not fit: their call fails, not ours
                    reply = {"ok": False, "error": one_line(str(exc), 300)}
            spent = time.monotonic() - began
            served = min(served + spent, 2 * timeout)
            write_all(self.to_child, wire.dumps(reply), deadline + served)
            line = self.read_line(deadline + served)

    def close(self) -> None:
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass


class Output:
    """The file the worker's stdout and stderr go to, held open by the grader
    (opened once, never by name again), and how much of it was read."""

    def __init__(self, file):
        self.file = file
        self._offset = 0

    def restart(self) -> None:
        """Empty it, for a new worker."""
        os.ftruncate(self.file.fileno(), 0)
        os.lseek(self.file.fileno(), 0, os.SEEK_SET)
        self._offset = 0

    def read(self) -> str:
        """What the student's code printed since the last read (sanitised)."""
        # Read through the grader's own handle without moving the file
        # position the worker writes at.
        try:
            fd = self.file.fileno()
            data = os.pread(fd, 16 * 1024, self._offset)
            self._offset = max(self._offset, os.fstat(fd).st_size)
        except (OSError, AttributeError, ValueError):
            return ""
        return sanitize(data.decode("utf-8", "replace"), 4000).rstrip()

    def close(self) -> None:
        self.file.close()


def write_all(fd: int, data: bytes, deadline: float) -> None:
    """Write all of ``data`` to the pipe ``fd`` by ``deadline`` (else TimeoutError)."""
    while data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        _, ready, _ = select.select([], [fd], [], remaining)
        if not ready:
            raise TimeoutError
        try:
            n = os.write(fd, data[: 1 << 16])
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                continue
            raise
        data = data[n:]


def encode_args(value: Any) -> Any:
    """A call's arguments for the wire: references (and opaque handles) to values the worker holds stay references."""
    if isinstance(value, wire.Ref):
        return wire.encode_ref(value)
    if isinstance(value, wire.Opaque) and value.ref is not None:
        return wire.encode_ref(wire.Ref(value.ref))
    if type(value) is list:
        return {"__list__": [encode_args(v) for v in value]}
    if type(value) is tuple:
        return {"__tuple__": [encode_args(v) for v in value]}
    if type(value) is dict:
        return {"__dict__": {k: encode_args(v) for k, v in value.items()}}
    return wire.encode(value)


def anchor_opaques(value: Any, call_id: int) -> None:
    """Make every opaque marker in a result refer to that call's result, so it
    can be handed back to the student (its path alone is relative)."""
    if isinstance(value, wire.Opaque) and value.ref is not None:
        value.ref = [call_id, *value.ref]
    elif isinstance(value, (list, tuple)):
        for v in value:
            anchor_opaques(v, call_id)
    elif isinstance(value, dict):
        for v in value.values():
            anchor_opaques(v, call_id)


def warnings_of(reply: dict) -> list[str]:
    """The warnings a reply lists, each one line, at most 20 (whatever a subverted worker sent)."""
    warnings = reply.get("warnings")
    return [one_line(str(w), 300) for w in (warnings if type(warnings) is list else [])][:20]
