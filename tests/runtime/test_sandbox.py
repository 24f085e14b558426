"""The sandbox under attack: network, writing outside, secrets in the environment, fork bomb, memory, time.

Each attack runs in every mode this machine has (``process`` always; ``bwrap`` where bubblewrap works,
as in CI, which installs it), and the test asserts that the attack failed and the host is unharmed.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from trex.runtime.sandbox import Sandbox, SandboxError, SandboxLimits, bwrap_available

MODES = ["process", *(["bwrap"] if bwrap_available() else [])]


@pytest.fixture(params=MODES)
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    return Sandbox(SandboxLimits(cpu_seconds=3, memory_mb=512, wall_seconds=8, processes=16), mode=request.param)


def test_bwrap_runs_where_it_is_installed() -> None:
    if os.environ.get("CI_EXPECTS_BWRAP") == "1":
        assert "bwrap" in MODES


def test_plain_code_runs_and_maps_rows(sandbox: Sandbox) -> None:
    result = sandbox.run("print(sum(range(10)))")
    assert result.ok and result.stdout.strip() == "45" and result.mode == sandbox.mode
    code = "def keep(row):\n    return row['n'] % 2 == 0\n"
    assert sandbox.map_rows(code, "keep", [{"n": 1}, {"n": 2}, {"n": 4}]) == [False, True, True]
    with pytest.raises(SandboxError, match="ZeroDivisionError"):
        sandbox.map_rows("def keep(row):\n    return 1 / 0\n", "keep", [{"n": 1}])


def test_no_network(sandbox: Sandbox) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted: list[bool] = []
    threading.Thread(target=lambda: accepted.append(bool(server.accept())), daemon=True).start()
    code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('CONNECTED')\n"
    result = sandbox.run(code)
    server.close()
    assert not result.ok and "CONNECTED" not in result.stdout and not accepted


def test_no_writing_outside_the_working_folder(sandbox: Sandbox, tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o777)  # even a folder anyone may write to stays untouched
    target = tmp_path / "escaped.txt"
    result = sandbox.run(f"open({str(target)!r}, 'w').write('owned')\n")
    assert not result.ok and not target.exists()
    inside = sandbox.run("open('mine.txt', 'w').write('ok'); print(open('mine.txt').read())")
    assert inside.ok and inside.stdout.strip() == "ok"


def test_no_secret_from_the_environment(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    result = sandbox.run("import os\nprint(dict(os.environ))\nprint(open('/proc/self/environ').read())\n")
    assert "sk-secret-123" not in result.stdout + result.stderr


def test_fork_bomb_is_contained(sandbox: Sandbox) -> None:
    code = (
        "import os, time\n"
        "n = 0\n"
        "try:\n"
        "    while n < 10000:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(5)\n"
        "            os._exit(0)\n"
        "        n += 1\n"
        "except OSError:\n"
        "    print('STOPPED AT', n)\n"
    )
    started = time.monotonic()
    result = sandbox.run(code)
    assert time.monotonic() - started < 30
    assert "STOPPED AT" in result.stdout or not result.ok
    if "STOPPED AT" in result.stdout:
        assert int(result.stdout.split("STOPPED AT")[1].split()[0]) < 200


def test_memory_is_limited(sandbox: Sandbox) -> None:
    result = sandbox.run("x = bytearray(2 * 1024 ** 3)\nprint('ALLOCATED')\n")
    assert not result.ok and result.reason == "memory" and "ALLOCATED" not in result.stdout


def test_time_is_limited(sandbox: Sandbox) -> None:
    busy = sandbox.run("while True:\n    pass\n")
    assert not busy.ok and busy.reason == "cpu" and busy.seconds < 8
    sleepy = sandbox.run("import time\ntime.sleep(60)\n")
    assert not sleepy.ok and sleepy.reason == "wall_clock" and sleepy.seconds < 15
