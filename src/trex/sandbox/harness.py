"""Runs inside the sandbox (standard library only): load the seccomp filter, install the audit hook, run the entry.

Usage: python -I -S harness.py WORKDIR ENTRY [SECCOMP_BPF]. With a filter file (the
``landlock`` and ``bwrap`` modes) the kernel refuses exec, fork and Internet sockets from here on
(see ``trex.sandbox.kernel``). The audit hook then refuses: opening a file for writing outside WORKDIR,
reading files or listing folders outside WORKDIR and the interpreter's folders, links, renames and
symlinks that touch anything outside WORKDIR, FIFOs and device nodes, socket connections and
binds, starting programs (subprocess, os.system, exec*, posix_spawn, fork), and loading native
code through ctypes. The hook is a tripwire in the interpreter; the kernel walls are what hold.
"""

import os
import runpy
import sys

WORKDIR = os.path.realpath(sys.argv[1])
ENTRY = sys.argv[2]
FILTER = sys.argv[3] if len(sys.argv) > 3 else None
_READABLE = tuple(
    {WORKDIR, os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix), "/usr/lib", "/usr/lib64", "/lib"}
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_BLOCKED = {
    "socket.connect": "network access",
    "socket.bind": "network access",
    "socket.sendto": "network access",
    "socket.getaddrinfo": "network access",
    "subprocess.Popen": "starting programs",
    "os.system": "starting programs",
    "os.exec": "starting programs",
    "os.posix_spawn": "starting programs",
    "os.spawn": "starting programs",
    "os.fork": "starting processes",
    "os.forkpty": "starting processes",
    "os.mkfifo": "making FIFOs",
    "os.mknod": "making device nodes",
    "ctypes.dlopen": "native code",
    "ctypes.dlsym": "native code",
    "ctypes.cdata": "native code",
}


def _under(path, roots):
    try:
        real = os.path.realpath(os.fsdecode(os.fspath(path)))
    except (TypeError, ValueError):
        return False
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _load_filter(path):
    """Hand the BPF program to the kernel: PR_SET_NO_NEW_PRIVS, then PR_SET_SECCOMP in filter mode."""
    import ctypes

    with open(path, "rb") as handle:
        program = handle.read()

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = Fprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "sandbox: cannot load the seccomp filter")


def _hook(event, args):
    if event in _BLOCKED:
        raise PermissionError(f"sandbox: {_BLOCKED[event]} is not allowed ({event})")
    if event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
        path, mode, flags = (list(args) + [None, None, 0])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
        if not _under(path, (WORKDIR,) if writing else _READABLE):
            what = "writing" if writing else "reading"
            raise PermissionError(f"sandbox: {what} outside the working folder is not allowed ({path!r})")
    if event in ("os.listdir", "os.scandir") and args and args[0] is not None and not _under(args[0], _READABLE):
        raise PermissionError("sandbox: listing folders outside the working folder is not allowed")
    two_paths = ("os.rename", "os.link", "os.symlink")
    one_path = ("os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.utime", "os.truncate")
    if event in two_paths and args and not all(_under(a, (WORKDIR,)) for a in args[:2]):
        raise PermissionError(f"sandbox: {event} may only touch the working folder")
    if event in one_path and args and not _under(args[0], (WORKDIR,)):
        raise PermissionError(f"sandbox: changing files outside the working folder is not allowed ({event})")


if FILTER:
    _load_filter(os.path.join(WORKDIR, FILTER))
os.chdir(WORKDIR)
sys.path.insert(0, WORKDIR)
if os.environ.get("TREX_SANDBOX_TRIPWIRE") != "0":  # off only in tests that check the kernel walls alone
    sys.addaudithook(_hook)
runpy.run_path(os.path.join(WORKDIR, ENTRY), run_name="__main__")
