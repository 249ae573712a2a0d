"""A third-party package installed beside mattebench appears in `mattebench list` and runs.

The package is laid out as pip installs it (module + ``*.dist-info`` with ``entry_points.txt``) in a
temporary site folder put on PYTHONPATH of a fresh interpreter: entry-point discovery is exercised
exactly as for a real install, without modifying the project's virtualenv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PLUGIN = textwrap.dedent(
    '''
    import numpy as np
    from mattebench.types import MethodCard

    class Flat:
        def __init__(self, value=0.25):
            self.value = float(value)

        def predict(self, image, trimap=None):
            return np.full(image.shape[:2], self.value, np.float32)

    def create(**options):
        return Flat(**options)

    create.card = MethodCard(name="flat", needs_trimap=False, paper="Nobody 2026. Flat mattes.")
    '''
)


def _site(tmp_path: Path, broken: bool = False) -> Path:
    site = tmp_path / "site"
    (site / "flatmatte").mkdir(parents=True)
    (site / "flatmatte" / "__init__.py").write_text(PLUGIN)
    info = site / "flatmatte-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: flatmatte\nVersion: 0.1\n")
    eps = "[mattebench.methods]\nflat-matte = flatmatte:create\n"
    if broken:
        eps += "broken-matte = flatmatte_missing:create\n"
    (info / "entry_points.txt").write_text(eps)
    return site


def _cli(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([sys.executable, "-m", "mattebench", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_plugin_is_listed_and_runs(tmp_path):
    site = _site(tmp_path)
    out = _cli(["list", "methods", "--json"], site, tmp_path)
    assert out.returncode == 0, out.stderr
    cards = {c["name"]: c for c in json.loads(out.stdout)["methods"]}
    assert cards["flat-matte"]["paper"].startswith("Nobody 2026")
    run = _cli(["run", "--method", "flat-matte", "--dataset", "synthetic", "--limit", "2", "-m", "value=0.5", "--quiet", "--out", str(tmp_path / "runs")], site, tmp_path)
    assert run.returncode == 0, run.stderr + run.stdout
    summary = json.loads((tmp_path / "runs" / "synthetic" / "flat-matte" / "summary.json").read_text())
    assert summary["counts"]["ok"] == 2 and summary["settings"]["method_options"] == {"value": 0.5}


def test_broken_plugin_warns_but_list_works(tmp_path):
    site = _site(tmp_path, broken=True)
    out = _cli(["list", "methods"], site, tmp_path)
    assert out.returncode == 0
    assert "flat-matte" in out.stdout
    assert "broken-matte" in (out.stdout + out.stderr) and "flatmatte_missing" in (out.stdout + out.stderr)
