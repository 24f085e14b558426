"""The report and the live view in a real headless Chromium, as a person uses them.

Needs Debian's chromium and chromium-driver (``.ci/run`` installs them); skipped where they are missing.
Screenshots are kept in ``test-artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from trex.report.html import write_report
from trex.report.serve import make_server
from trex.search.policies import backpropagate
from trex.search.tree import DONE
from trex.store import Store

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium and chromium-driver are not installed"),
]


@pytest.fixture()
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="trex-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1600",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _grow(store: Store, parent: int | None, val: float, rationale: str) -> int:
    plan = {"strategy": "refine_data", "change": f"try {val}", "rationale": rationale, "recipe": {"steps": []}}
    job = {"train": {"learning_rate": val / 1000}, "recipe": {"steps": [{"op": "cap_samples", "args": {}}]}}
    job_hash = f"h{val}"
    node_id = store.add_node(
        parent, 0 if parent is None else 1, "refine_data", json.dumps(plan), [(job_hash, json.dumps(job), "cfg")]
    )
    score = {"value": val, "low": val - 0.05, "high": val + 0.05, "n": 100}
    result = {
        "status": "ok",
        "validation": {"split": "validation", "score": score},
        "test": {"split": "test", "score": score},
    }
    store.finish_job(job_hash, "ok", json.dumps(result), "")
    tree = store.load_tree()
    node = tree.nodes[node_id]
    node.status, node.val_score, node.test_score, node.reward = DONE, val, val, val
    store.finish_node(node, job_hash, f"insights of node {node_id}", None, backpropagate(tree, node_id, val))
    return node_id


def test_click_a_node_and_read_its_plan_and_metrics(browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    store = Store(tmp_path)
    store.set_meta("task_name", "browser")
    root = _grow(store, None, 0.61, "the first grid")
    _grow(store, root, 0.72, "dedup helps <script>alert(1)</script>")
    _grow(store, root, 0.55, "a worse idea")
    page = write_report(store)
    store.close()
    browser.get(page.as_uri())
    section = browser.find_element(By.ID, "node-3")
    assert section.get_attribute("open") is None  # closed until clicked
    browser.find_element(By.CSS_SELECTOR, 'a.tree-node[data-node="3"]').click()
    time.sleep(0.3)
    assert section.get_attribute("open") is not None
    text = section.text
    assert "a worse idea" in text and "0.550 [0.500, 0.600]" in text and "insights of node 3" in text
    assert browser.find_elements(By.TAG_NAME, "script")[0].get_attribute("src") in ("", None)  # inline only
    assert "dedup helps <script>" in browser.find_element(By.ID, "node-2").get_attribute("textContent")  # escaped
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "report_node_3.png"))


def test_the_live_view_updates_when_a_node_is_added(browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    store = Store(tmp_path)
    store.set_meta("task_name", "live")
    root = _grow(store, None, 0.6, "root")
    server = make_server(tmp_path, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{server.server_port}/")
        assert not browser.find_elements(By.ID, "node-2")
        _grow(store, root, 0.8, "added while the page is open")
        deadline = time.time() + 20
        while time.time() < deadline and not browser.find_elements(By.ID, "node-2"):
            time.sleep(0.5)
        assert browser.find_elements(By.ID, "node-2"), "the page did not update"
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "live_view.png"))
    finally:
        server.shutdown()
        store.close()
