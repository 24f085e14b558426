"""Kernel walls for the sandbox without root or bubblewrap: Landlock for files, seccomp for exec, fork and network.

Both come through maintained bindings (``landlock`` for the Landlock LSM, ``pyseccomp`` over
libseccomp) and need no privilege: the process sets ``no_new_privs`` and confines itself, and
everything it starts inherits the confinement. ``kernel_walls_available`` says whether this
machine has them (Landlock ABI >= 1 in the kernel, libseccomp installed).

- ``landlock_ruleset(workdir, readable)``: the sandboxed process may read, and execute from,
  only the interpreter's folders and the loader's cache; it may read and write files and folders
  only inside ``workdir``. It may make no FIFO, socket, device or symlink anywhere, and may not
  link or rename anything out of ``workdir`` (Landlock's REFER right). ``/etc/passwd``, other
  workspaces, ``/proc`` and the user's home are unreadable. Applied before the interpreter starts.
- ``seccomp_program()``: a BPF filter that refuses ``execve``/``execveat``, ``fork``/``vfork`` and
  ``clone`` without ``CLONE_THREAD`` (threads still work; ``clone3`` answers ENOSYS so libc falls
  back to ``clone``), Internet, raw, netlink and Unix sockets (Landlock does not govern connecting to
  an existing Unix socket, so ``AF_UNIX`` is refused here; ``socketpair`` stays, it reaches nothing
  outside the process), ``ptrace``, ``mknod``, namespaces, mounts, BPF, io_uring and keyrings. The
  harness loads it once the interpreter is up, before the code runs.

Not protected: the kernel itself (an exploit of a kernel bug escapes both), reading what the
interpreter's folders hold (the standard library and its site-packages), CPU and memory
bandwidth beyond the rlimits.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

CLONE_THREAD = 0x00010000
_DENIED = (
    "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev", "mknod", "mknodat",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key", "kexec_load",
    "init_module", "finit_module", "delete_module", "personality",
)  # fmt: skip
_SOCKET_FAMILIES = (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6, socket.AF_PACKET, socket.AF_NETLINK)


def kernel_walls_available() -> bool:
    """Landlock is enabled in this kernel and libseccomp can be loaded."""
    try:
        import landlock
        import pyseccomp

        pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        return landlock.landlock_abi_version() >= 1
    except Exception:  # missing package, library, syscall (ENOSYS) or a disabled LSM (EOPNOTSUPP)
        return False


def readable_roots(interpreter: str) -> list[Path]:
    """Folders the interpreter needs to start: its prefix, the system libraries, the loader's cache."""
    real = Path(interpreter).resolve()
    roots = [real.parent.parent, Path("/usr"), Path("/etc/ld.so.cache")]
    roots += [Path(f"/{name}") for name in ("bin", "lib", "lib32", "lib64", "libx32")]
    return [p for p in dict.fromkeys(roots) if p.exists()]


def landlock_ruleset(workdir: Path, readable: list[Path]) -> Any:  # noqa: ANN401 (landlock.Ruleset)
    """A Landlock ruleset (not yet applied): read and execute ``readable``; read and write inside ``workdir``."""
    from landlock import FSAccess, Ruleset

    handled = FSAccess.all()
    ruleset = Ruleset(restrict_rules=handled)
    read_dir = FSAccess.EXECUTE | FSAccess.READ_FILE | FSAccess.READ_DIR
    read_file = FSAccess.EXECUTE | FSAccess.READ_FILE
    for path in readable:
        ruleset.allow(str(path), rules=read_dir if path.is_dir() else read_file)
    write = FSAccess.READ_FILE | FSAccess.READ_DIR | FSAccess.WRITE_FILE | FSAccess.MAKE_REG | FSAccess.MAKE_DIR
    write |= FSAccess.REMOVE_FILE | FSAccess.REMOVE_DIR
    write |= handled & (FSAccess.TRUNCATE | FSAccess.REFER)  # present from ABI 3 and 2
    ruleset.allow(str(workdir), rules=write)
    null_rights = FSAccess.READ_FILE | FSAccess.WRITE_FILE
    ruleset.allow("/dev/null", rules=null_rights)
    return ruleset


def apply_landlock(ruleset: Any) -> None:  # noqa: ANN401
    """Confine the calling process (and all it starts) to the ruleset; sets no_new_privs."""
    ruleset.apply()


def seccomp_program() -> bytes:
    """The seccomp BPF program of the module docstring, as raw bytes for ``PR_SET_SECCOMP``."""
    import pyseccomp as sc

    flt = sc.SyscallFilter(sc.ALLOW)
    for name in _DENIED:
        try:
            flt.add_rule(sc.ERRNO(errno.EPERM), name)
        except (OSError, RuntimeError, ValueError):
            continue  # a syscall this architecture does not have
    flt.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for family in _SOCKET_FAMILIES:
        flt.add_rule(sc.ERRNO(errno.EACCES), "socket", sc.Arg(0, sc.EQ, int(family)))
    read, write = os.pipe()
    try:
        with io.FileIO(write, "wb", closefd=False) as sink:
            flt.export_bpf(sink)
        os.close(write)
        write = -1
        chunks = []
        while chunk := os.read(read, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)


def bwrap_available() -> bool:
    """bubblewrap is installed and can create its namespaces here (checked once per call, ~10 ms)."""
    if shutil.which("bwrap") is None:
        return False
    probe = subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
        capture_output=True,
        timeout=20,
        check=False,
    )
    return probe.returncode == 0
