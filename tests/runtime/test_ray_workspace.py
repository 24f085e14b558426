"""With Ray, a node that cannot see the workspace is refused at the door: exit 2, before the workspace is made or
written (before, ``open_run`` wrote task.yaml and the metadata first and the run ended with a bare RuntimeError,
exit 1). Ray itself is replaced by its answer: which nodes do not see the marker."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import TINY_TASK
from trex.cli.app import app
from trex.runtime import ray as ray_scheduler


def _no_ray(self: ray_scheduler.RayScheduler, **kwargs: object) -> None:  # a scheduler without a Ray behind it
    self._ray = None


def test_a_ray_node_blind_to_the_workspace_is_exit_2_before_it_is_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Path] = []

    def blind(self: ray_scheduler.RayScheduler, marker: Path) -> list[str]:
        seen.append(marker)
        assert marker.exists()  # written where the workspace will be, for the nodes to look for
        return ["node-b"]

    monkeypatch.setattr(ray_scheduler.RayScheduler, "__init__", _no_ray)
    monkeypatch.setattr(ray_scheduler.RayScheduler, "_blind_nodes", blind)
    workspace = tmp_path / "ws"
    out = CliRunner().invoke(app, ["run", str(TINY_TASK), "--workspace", str(workspace), "--scheduler", "ray"])
    assert out.exit_code == 2, out.output
    assert "not visible from Ray node(s) node-b" in " ".join(out.output.split())
    assert not workspace.exists()
    assert seen and seen[0].parent == tmp_path and not seen[0].exists()  # the marker is gone again


def test_an_existing_workspace_is_checked_in_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray_scheduler.RayScheduler, "__init__", _no_ray)
    monkeypatch.setattr(ray_scheduler.RayScheduler, "_blind_nodes", lambda self, marker: [marker.parent.name])
    (tmp_path / "ws").mkdir()
    with pytest.raises(ray_scheduler.WorkspaceNotShared, match="node\\(s\\) ws"):
        ray_scheduler.RayScheduler().check_workspace(tmp_path / "ws")
