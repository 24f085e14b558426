"""Runs inside the sandbox (standard library only): install the audit hook, then run the entry script.

Usage: python -I -S sandbox_harness.py WORKDIR ENTRY. The hook refuses: opening a file for writing
outside WORKDIR (and /tmp inside bubblewrap's private tmpfs is allowed only there), socket
connections and binds, starting programs (subprocess, os.system, exec*, posix_spawn), and loading
native code through ctypes. It is a tripwire in the interpreter; bubblewrap is the wall.
"""

import os
import runpy
import sys

WORKDIR = os.path.realpath(sys.argv[1])
ENTRY = sys.argv[2]
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
    "ctypes.dlopen": "native code",
    "ctypes.cdata": "native code",
}


def _inside(path):
    try:
        real = os.path.realpath(os.fspath(path))
    except (TypeError, ValueError):
        return False
    return real == WORKDIR or real.startswith(WORKDIR + os.sep)


def _hook(event, args):
    if event in _BLOCKED:
        raise PermissionError(f"sandbox: {_BLOCKED[event]} is not allowed ({event})")
    if event == "open" and args:
        path, mode, flags = (list(args) + [None, None, 0])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
        if writing and isinstance(path, str | bytes | os.PathLike) and not _inside(path):
            raise PermissionError(f"sandbox: writing outside the working folder is not allowed ({path!r})")
    changes = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.symlink", "os.link")
    if event in changes and args and not _inside(args[0]):
        raise PermissionError(f"sandbox: changing files outside the working folder is not allowed ({event})")


os.chdir(WORKDIR)
sys.path.insert(0, WORKDIR)
sys.addaudithook(_hook)
runpy.run_path(os.path.join(WORKDIR, ENTRY), run_name="__main__")
