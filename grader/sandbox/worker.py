"""The untrusted side: runs a student's module inside the sandbox process.

Started by :mod:`grader.sandbox.launch` as ``python -I -S worker.py ...`` in a
scratch directory, with a scrubbed environment, resource limits and a
``sys.path`` that holds NumPy and nothing else from site-packages; or forked,
confined the same way, from a fork server (``worker.py --fork-server``, below)
that has already imported NumPy. It imports
the student's module, then answers requests read from a pipe, one JSON line at
a time: call a function, keep a value for later, forget values.

Nothing here is trusted. Student code shares this process and can change any
of it; the grader treats every answer as a claim to validate, and computes
expected values and scores in its own process.

Standard library, NumPy, ``wire`` and ``confine`` (with ``seccomp``) only.
"""

import importlib.abc
import importlib.util
import os
import sys
import time
import traceback
import warnings


def main() -> None:
    if sys.argv[1] == "--fork-server":
        control_fds = [int(fd) for fd in sys.argv[2].split(",")]
        runtime_dir, site_dir = sys.argv[3], sys.argv[4]
        wire, np = _load_runtime(runtime_dir, site_dir, fork_server=True)
        _fork_server(control_fds, wire, np)
        return
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    runtime_dir, site_dir, work_dir = sys.argv[3], sys.argv[4], sys.argv[5]
    module_name, module_file = sys.argv[6], sys.argv[7]
    forbidden = [m for m in sys.argv[8].split(",") if m]
    inputs_fd = int(sys.argv[9]) if len(sys.argv) > 9 else None
    wire, np = _load_runtime(runtime_dir, site_dir)
    _serve(read_fd, write_fd, work_dir, module_name, module_file, forbidden, wire, np, inputs_fd)


def _load_runtime(runtime_dir, site_dir, fork_server=False):
    """Import the wire format and NumPy (and, for the fork server's children,
    the confinement code); nothing else is on the path."""
    sys.path[:] = [site_dir] + [p for p in sys.path if "site-packages" not in p]
    sys.path.insert(0, runtime_dir)
    if fork_server:
        import confine  # noqa: F401,E402  (from runtime_dir)
    import wire  # noqa: E402
    import numpy as np  # noqa: E402

    sys.path.remove(runtime_dir)
    return wire, np


def _serve(read_fd, write_fd, work_dir, module_name, module_file, forbidden, wire, np, inputs_fd=None):
    """Import the student's module, then answer the grader's requests until it hangs up."""
    sys.path.insert(0, work_dir)
    sys.meta_path.insert(0, _Blocker(forbidden))
    os.chdir(work_dir)

    channel = _Channel(read_fd, write_fd, wire, inputs_fd)
    _install_callback(channel, wire)
    module, error = _import_student(module_name, module_file, work_dir)
    channel.send({"op": "ready", "ok": error is None, "error": error})
    if error is not None:
        return

    table: dict = {}
    while True:
        msg = channel.receive()
        if msg is None:
            return
        op = msg.get("op")
        if op == "call":
            channel.send(_call(module, msg, table, wire, np, work_dir, channel))
        elif op == "store":
            try:
                root = {"value": wire.decode(msg["value"])}
                _put_inputs(root, _take_inputs(msg, channel, np))
            except Exception as exc:
                channel.send({"id": msg.get("id"), "ok": False, "error": _inputs_error(exc, work_dir)})
                continue
            table[msg["id"]] = root["value"]
            table.setdefault("__stored__", set()).add(msg["id"])
            channel.send({"id": msg["id"], "ok": True})
        elif op == "release":
            for key in msg.get("ids", []):
                table.pop(key, None)
            channel.send({"id": msg.get("id"), "ok": True})
        else:
            channel.send({"id": msg.get("id"), "ok": False, "error": {"kind": "protocol", "message": "unknown op"}})


# -- the fork server ------------------------------------------------------------
#
# Starting Python and importing NumPy costs a worker most of its start-up. The
# fork server pays that once: it imports them, never runs student code, and
# forks a child per sandbox. The child confines itself exactly as a freshly
# started worker is confined (its own session, rlimits, cgroup, namespaces,
# Landlock: all decided by the grader, see launch.py), closes everything
# but its two pipes, and only then imports the student's module. The requests
# come from the grader over a Unix socket with the child's file descriptors
# attached; the server answers with the child's pid, and reaps a child only
# when the grader asks, so that pid is never reused while the grader may still
# signal it.

def _fork_server(control_fds, wire, np):
    import json
    import select
    import socket

    # One control socket per grader process that uses this server (`grader
    # check --all` shares one among its jobs); each request is answered on the
    # socket it came on, and the server ends when every one has hung up.
    controls = [socket.socket(fileno=fd) for fd in control_fds]
    np.random.seed()  # its first use imports and sets up what later ones reuse (15 ms): pay it once
    import gc

    gc.freeze()  # the children's collections then leave these objects' pages shared, not copied

    def answer(control, reply):
        try:
            control.send(json.dumps(reply).encode())
        except OSError:  # that grader process is gone; the others are still served
            controls.remove(control)
            control.close()

    for control in list(controls):
        answer(control, {"op": "ready", "pid": os.getpid()})
    while controls:
        for control in select.select(controls, [], [])[0]:
            try:
                data, fds, _, _ = socket.recv_fds(control, 1 << 16, 16)
            except OSError:
                data, fds = b"", []
            if not data:  # that grader process is gone
                for fd in fds:
                    os.close(fd)
                controls.remove(control)
                control.close()
                continue
            try:
                msg = json.loads(data)
                op = msg["op"]
            except (ValueError, KeyError, TypeError):
                op = None
            if op == "spawn" and len(fds) == 3 + len(msg.get("extra", [])):
                server = os.getpid()
                pid = os.fork()
                if pid == 0:
                    _forked_child(controls, fds, msg, wire, np, server)  # never returns
                reply = {"pid": pid}
            elif op == "reap":
                reply = {"code": _reap(msg.get("pid"))}
            else:
                reply = {"error": "bad request"}
            for fd in fds:
                os.close(fd)
            answer(control, reply)


def _reap(pid):
    try:
        done, status = os.waitpid(int(pid), os.WNOHANG)
    except (ChildProcessError, ValueError, TypeError, OverflowError):
        return None
    return os.waitstatus_to_exitcode(status) if done else None


def _forked_child(controls, fds, msg, wire, np, server):
    code = 70  # EX_SOFTWARE: confinement could not be completed, no student code ran
    try:
        import confine

        confine.die_with_parent(server)  # the server ends with the last grader that uses it
        for control in controls:
            control.close()
        os.setsid()
        read_fd, write_fd, output_fd = fds[:3]
        extra = dict(zip(msg.get("extra", []), fds[3:]))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        confine.apply([tuple(limit) for limit in msg["rlimits"]], [extra.get("cgroup"), extra.get("memcg")],
                      bool(msg.get("namespaces")), extra.get("ruleset"), msg.get("view"),
                      seccomp_filter=msg.get("seccomp") is True, lifeline=extra.get("lifeline"))
        inputs_fd = extra.get("inputs")
        low = 3
        for fd in sorted({read_fd, write_fd} | ({inputs_fd} if inputs_fd is not None else set())):
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, 1 << 20)
        os.environ.clear()
        os.environ.update(msg["env"])
        # Each worker draws its own random numbers, as a freshly started one would.
        np.random.seed()
        if "random" in sys.modules:
            sys.modules["random"].seed()
        code = 0
        _serve(read_fd, write_fd, msg["work"], msg["module"], msg["file"], msg["forbidden"], wire, np, inputs_fd)
    except BaseException:
        if code == 0:  # as a started worker would end: the traceback, then status 1
            traceback.print_exc()
            code = 1
    finally:
        _flush()
        os._exit(code)


class _Blocker(importlib.abc.MetaPathFinder):
    """Refuses forbidden packages with a clear message.

    A convenience, not the enforcement: those packages are not on this
    process's path at all, and the grader checks the process's memory maps.
    """

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in self.names:
            raise ImportError(
                f"importing {top!r} is not allowed in this exercise: write it with NumPy only"
            )
        return None


def _install_callback(channel, wire):
    """``_grader_callback.call(name, *args)``: a capstone's stand-in for a layer of the student's
    that fails its own exercise asks the grader for the value (see grader/capstone.py). The
    grader answers only the functions it chose to stand in for, and only during a call: any
    other request gets an error. Values cross, never code."""
    import types

    def call(name, *args):
        channel.send({"op": "callback", "func": str(name), "args": wire.encode(list(args))})
        reply = channel.receive()
        if reply is None:
            os._exit(0)  # the grader hung up
        if not reply.get("ok"):
            raise RuntimeError(f"the grader did not answer {name}: {reply.get('error')}")
        return wire.decode(reply.get("value"))

    module = types.ModuleType("_grader_callback")
    module.call = call
    sys.modules["_grader_callback"] = module


class _Channel:
    def __init__(self, read_fd, write_fd, wire, inputs_fd=None):
        import socket

        self.read_fd, self.write_fd, self.wire = read_fd, write_fd, wire
        self.buffer = b""
        # The socket the grader hands each request's input file over (see _take_inputs).
        self.inputs = socket.socket(fileno=inputs_fd) if inputs_fd is not None else None

    def receive(self):
        while b"\n" not in self.buffer:
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return self.wire.loads(line)

    def send(self, msg):
        data = self.wire.dumps(msg)
        while data:
            n = os.write(self.write_fd, data)
            data = data[n:]


def _student_trace(exc, work_dir):
    """The traceback lines that point into the student's own files."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if os.path.isabs(f.filename) and f.filename.startswith(work_dir + os.sep)
    ]
    for f in frames:
        f.filename = os.path.basename(f.filename)
    lines = traceback.format_list(frames[-8:])
    if isinstance(exc, SyntaxError):
        lines += traceback.format_exception_only(type(exc), exc)[:-1]
    # The sandbox's folder changes from run to run: name the file alone, so that
    # the same submission gets the same feedback every time.
    return "".join(lines).replace(work_dir + os.sep, "")


def _describe(exc, work_dir, kind="exception"):
    try:
        message = str(exc)
    except Exception:
        message = "<message could not be shown>"
    if isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, RecursionError):
        kind = "recursion"
    elif isinstance(exc, OSError) and exc.errno == 27:  # EFBIG: RLIMIT_FSIZE reached
        kind = "output"
    elif isinstance(exc, OSError) and exc.errno in (28, 122):  # ENOSPC, EDQUOT: the work folder is full
        kind = "disk"
    if isinstance(exc, SystemExit):
        kind = "exit"
        message = f"sys.exit({exc.code!r})" if not isinstance(exc.code, (dict, list)) else "sys.exit()"
    return {
        "kind": kind,
        "type": type(exc).__name__,
        "message": message.replace(work_dir + os.sep, "")[:2000],
        "trace": _student_trace(exc, work_dir)[:4000],
    }


def _import_student(module_name, module_file, work_dir):
    try:
        spec = importlib.util.spec_from_file_location(module_name, module_file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module, None
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too
        return None, _describe(exc, work_dir, kind="import")
    finally:
        _flush()


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _resolve(value, table, wire):
    """Replace references by the objects kept in ``table``."""
    if isinstance(value, wire.Ref):
        path = list(value.path)
        key = path.pop(0)
        obj = table[key]
        for part in path:
            obj = obj[part]
        # Inputs the grader stored are handed out afresh for every call (new
        # views of the grader's shared memory); a value the student returned (a
        # cache) goes back exactly as it was.
        return _fresh_view(obj) if key in table.get("__stored__", ()) else obj
    if isinstance(value, list):
        return [_resolve(v, table, wire) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolve(v, table, wire) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(v, table, wire) for k, v in value.items()}
    return value


def _fresh_view(obj):
    # A new array object on the same (shared) memory, and a new dict: what the
    # student does to the object itself (its shape, new keys) stays in this call;
    # what it writes into the data, the grader sees and undoes.
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.view()
    if type(obj) is dict:
        return {k: v.view() if isinstance(v, np.ndarray) else v for k, v in obj.items()}
    return obj


# -- inputs in shared memory ------------------------------------------------------
#
# The grader places the input arrays of a request in a file in memory and hands
# it over the inputs socket before the request; the request's "inputs" says
# where each array lies and where it goes. The arrays are built on a shared,
# writable mapping of that file, so what the student's code writes into them
# lands in the grader's file, which the grader reads back itself.

def _take_inputs(msg, channel, np):
    """The arrays of ``msg``'s input file, as ``(path, array)`` pairs."""
    spec = msg.get("inputs")
    if spec is None:
        return []
    fd = _receive_file(channel, msg.get("id"))
    try:
        memory = _map_shared(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    arrays = []
    for item in spec["arrays"]:
        dtype, shape = np.dtype(item["dtype"]), tuple(item["shape"])
        count = 1
        for n in shape:
            count *= n
        arrays.append((item["at"], np.frombuffer(memory, dtype, count, item["offset"]).reshape(shape)))
    return arrays


def _map_shared(fd, size):
    """A writable shared mapping of ``fd``, unmapped when the last array on it is gone.

    Mapped with libc rather than the ``mmap`` module, which keeps a duplicate
    of the descriptor open for each mapping: a student's caches that hold
    inputs would use up the open-files limit."""
    import ctypes
    import mmap
    import weakref

    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.mmap.restype = ctypes.c_void_p
        _libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                               ctypes.c_long]
        _libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    address = _libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
    if address is None or address == ctypes.c_void_p(-1).value:
        err = ctypes.get_errno()
        raise OSError(err, f"the inputs could not be mapped: {os.strerror(err)}")
    memory = (ctypes.c_char * size).from_address(address)
    weakref.finalize(memory, _libc.munmap, address, size)
    return memory


_libc = None


def _receive_file(channel, tag):
    """The file descriptor the grader sent for request ``tag`` (earlier leftovers are dropped)."""
    import socket

    if channel.inputs is None:
        raise RuntimeError("this process has no channel for the grader's inputs")
    while True:
        try:
            data, fds, flags, _ = socket.recv_fds(channel.inputs, 64, 4, socket.MSG_DONTWAIT)
        except BlockingIOError:
            raise RuntimeError("the grader's inputs did not arrive") from None
        if flags & getattr(socket, "MSG_CTRUNC", 0) and not fds:
            raise OSError(24, "too many open files: the grader's inputs could not be received")
        if not data and not fds:
            raise RuntimeError("the grader's inputs channel is closed")
        if data == str(tag).encode() and len(fds) == 1:
            return fds[0]
        for fd in fds:
            os.close(fd)


def _put_inputs(root, arrays):
    for path, array in arrays:
        container = root
        for part in path[:-1]:
            container = container[part]
        container[path[-1]] = array


def _inputs_error(exc, work_dir):
    if isinstance(exc, MemoryError) or isinstance(exc, OSError) and exc.errno == 12:  # ENOMEM: RLIMIT_AS
        return _describe(MemoryError(str(exc)), work_dir)
    return _describe(exc, work_dir, kind="inputs")


def _call(module, msg, table, wire, np, work_dir, channel):
    call_id = msg.get("id")
    name = msg.get("func", "")
    try:
        inputs = _take_inputs(msg, channel, np)  # first: the file is this request's, whatever happens next
    except Exception as exc:
        return {"id": call_id, "ok": False, "error": _inputs_error(exc, work_dir)}
    func = getattr(module, name, None)
    if func is None:
        return {"id": call_id, "ok": False, "error": {"kind": "missing", "message": name}}
    if not callable(func):
        return {"id": call_id, "ok": False, "error": {"kind": "not_callable", "message": type(func).__name__}}
    try:
        root = {"args": wire.decode(msg.get("args", {"__list__": []})),
                "kwargs": wire.decode(msg.get("kwargs", {"__dict__": {}}))}
        _put_inputs(root, inputs)
        args = _resolve(root["args"], table, wire)
        kwargs = _resolve(root["kwargs"], table, wire)
    except Exception as exc:
        return {"id": call_id, "ok": False, "error": {"kind": "protocol", "message": repr(exc)[:300]}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:  # SystemExit, KeyboardInterrupt, MemoryError...
            _flush()
            return {"id": call_id, "ok": False, "error": _describe(exc, work_dir)}
        seconds = time.perf_counter() - start
    _flush()
    table[call_id] = result
    try:
        encoded = wire.encode(result)
        warned = [f"{w.category.__name__}: {w.message}"[:300] for w in caught[:20]]
    except BaseException as exc:
        return {"id": call_id, "ok": False, "error": _describe(exc, work_dir, kind="encode")}
    return {
        "id": call_id,
        "ok": True,
        "value": encoded,
        "seconds": seconds,
        "warnings": warned,
    }


if __name__ == "__main__":
    main()
