"""Every notebook, run in JupyterLab in a real browser, as a student runs it.

JupyterLab is started on loopback; headless Chromium (Debian's, driven by Playwright) opens a
completed copy of each student notebook, runs all its cells, and the test checks that every
visible test cell printed its pass line and that the plots rendered. A screenshot of each is
kept in ``build/screenshots/`` (CI keeps them as artifacts). The experiments run shrunk, as
under grading, so that the whole workbook takes minutes. nbgrader's extensions are switched off
for this server, as students have none: the page must show no instructor panel.

Chromium is a system package: ``apt-get install chromium``; the test is skipped without it,
unless ``WORKBOOK_REQUIRE_BROWSER`` is set (as CI does), which makes its absence a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from urllib.request import urlopen

import pytest

from autograde.course import Course
from autograde.notebook import completed, read

pytestmark = pytest.mark.slow  # one JupyterLab: conftest keeps the module on one worker
COURSE = Course.default()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = COURSE.root / "build" / "screenshots"
CHROMIUM_ARGS = [  # a closed network and root: see the machines' notes
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on loopback, over a folder of completed student notebooks."""
    if CHROMIUM is None:
        if os.environ.get("WORKBOOK_REQUIRE_BROWSER"):
            pytest.fail("no chromium on this machine (apt-get install chromium)")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    pytest.importorskip("playwright")
    folder = tmp_path_factory.mktemp("lab")
    for assignment in COURSE.assignments():
        notebook = completed(
            read(COURSE.release_notebook(assignment)), read(COURSE.source_notebook(assignment))
        )
        (folder / f"{assignment}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    port, token = _free_port(), secrets.token_hex(16)
    # Students have no nbgrader: its server and JupyterLab extensions are off for this server.
    config = folder / ".config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyter/nbgrader": True}})
    )
    extensions = ["formgrader", "validate_assignment", "assignment_list", "course_list"]
    (config / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {
                    "jpserver_extensions": {
                        f"nbgrader.server_extensions.{name}": False for name in extensions
                    }
                }
            }
        )
    )
    # Every cell rendered (no windowing), so that the plots are in the page; no news pop-up.
    settings = config / "lab-settings" / "@jupyterlab"
    for plugin, values in [
        ("notebook-extension/tracker", {"windowingMode": "none"}),
        ("apputils-extension/notification", {"fetchNews": "false"}),
    ]:
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    environment = {
        **os.environ,
        "NBGRADER_EXECUTION": "validate",  # the experiments shrink, as under grading
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTERLAB_SETTINGS_DIR": str(config / "lab-settings"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={folder}",
            "--LabApp.expose_app_in_browser=True",
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("JupyterLab did not start")
            time.sleep(0.5)
    yield url, token
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


# The open notebook as JupyterLab holds it: its kernel's status, and each code cell's outputs.
NOTEBOOK_STATE = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    if (!kernel) return null;
    const cells = [];
    for (const cell of panel.content.model.cells) {
        if (cell.type !== 'code') continue;
        cells.push({count: cell.executionCount, outputs: cell.toJSON().outputs});
    }
    return {status: kernel.status, cells};
}"""


@pytest.mark.parametrize("assignment", COURSE.assignments())
def test_the_notebook_runs_in_jupyterlab_in_a_browser(lab, browser, assignment):
    url, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # A workspace of its own, reset: JupyterLab must not reopen the notebooks of other tests.
    page.goto(
        f"{url}/lab/workspaces/{assignment}/tree/{assignment}.ipynb?reset&token={token}",
        timeout=120_000,
    )
    page.wait_for_function(  # the notebook is open and its kernel is ready
        f"() => {{ const s = ({NOTEBOOK_STATE})(); return s && s.status === 'idle'; }}",
        timeout=180_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(  # every code cell ran, and the kernel is idle again
        f"""() => {{ const s = ({NOTEBOOK_STATE})();
            return s && s.status === 'idle' && s.cells.every(c => c.count !== null); }}""",
        timeout=600_000,
        polling=1000,
    )
    state = page.evaluate(NOTEBOOK_STATE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{assignment}.png"))
    printed = json.dumps([cell["outputs"] for cell in state["cells"]])
    functions = [
        c["metadata"]["nbgrader"]["grade_id"].removeprefix("test_")
        for c in read(COURSE.source_notebook(assignment))["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
        and not c["metadata"]["nbgrader"].get("solution")
    ]
    missing = [f for f in functions if f"The visible tests of {f} passed." not in printed]
    assert missing == [], f"no pass line for {missing}"
    errors = [o for cell in state["cells"] for o in cell["outputs"] if o["output_type"] == "error"]
    assert errors == [], errors[0]["ename"] if errors else ""
    assert page.locator(".jp-OutputArea-output img").count() > 0, "no plot rendered"
    menus = page.inner_text("#jp-menu-panel")
    assert "Nbgrader" not in menus, "a student's JupyterLab shows nbgrader's instructor menu"
    page.close()
