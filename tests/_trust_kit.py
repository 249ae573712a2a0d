"""Building blocks of the tests/test_trust_*.py files: tiny folder datasets, plug-ins installed as a
dist-info on PYTHONPATH (exactly as pip lays them out), and a CLI runner in a fresh interpreter.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def folder_dataset(root: Path, names: Iterable[str], size: int = 12) -> Path:
    """``root/image/<name>.png`` + ``root/alpha/<name>.png`` for each name (a soft square)."""
    (root / "image").mkdir(parents=True, exist_ok=True)
    (root / "alpha").mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        a = np.zeros((size, size), np.uint8)
        a[2:-2, 2:-2] = 255
        a[2, 2:-2] = 128
        img = np.zeros((size, size, 3), np.uint8)
        img[..., 0] = 40 + k % 200
        img[..., 1] = a
        for folder, arr in (("image", img), ("alpha", a)):
            with open(os.path.join(os.fsencode(root / folder), os.fsencode(name) + b".png"), "wb") as f:
                Image.fromarray(arr).save(f, format="PNG")
    return root


def install_plugin(site: Path, dist: str, version: str, source: str, methods: dict[str, str], module: Optional[str] = None) -> Path:
    """A package ``module`` (default: ``dist``) with ``source`` in its __init__, and a dist-info whose
    entry points register ``methods`` (name -> attribute of the module)."""
    module = module or dist
    pkg = site / module
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(source))
    for old in site.glob(f"{dist}-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    info = site / f"{dist}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(module + "\n")
    (info / "RECORD").write_text(f"{module}/__init__.py,,\n")
    eps = "[mattebench.methods]\n" + "".join(f"{n} = {module}:{attr}\n" for n, attr in methods.items())
    (info / "entry_points.txt").write_text(eps)
    return site


def env_with(site: Optional[Path], **extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    env.pop("MATTEBENCH_DATA", None)
    env["OMP_NUM_THREADS"] = "1"
    if site is not None:
        env["PYTHONPATH"] = str(site) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def cli(args: list[str], site: Optional[Path] = None, cwd: Optional[Path] = None, timeout: float = 240,
        **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mattebench", *args], capture_output=True, text=True,
                          env=env_with(site, **env), cwd=cwd or REPO, timeout=timeout)


def interruptible() -> None:
    """In a child before exec: SIGINT back to its default. A shell's background job (`make test &`, a CI
    runner started with nohup) ignores SIGINT and children inherit that; Python then never raises
    KeyboardInterrupt, and a test that sends Ctrl-C would test nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(args: list[str], site: Optional[Path] = None, cwd: Optional[Path] = None, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mattebench", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env_with(site, **env), cwd=cwd or REPO, preexec_fn=interruptible)


def wait_for(predicate, timeout: float = 120.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# A plug-in with a slow method (for two runs at once and SIGINT), a flaky one (exit 3), a cheating one.
PLUGIN_SOURCE = '''
import os, time
import numpy as np
from mattebench.types import MethodCard

class Slow:
    def __init__(self, delay=0.3):
        self.delay = float(delay)
    def predict(self, image, trimap=None):
        time.sleep(float(os.environ.get("TRUST_DELAY", self.delay)))
        return np.full(image.shape[:2], 0.5, np.float32)

def slow(delay: float = 0.3):
    return Slow(delay)
slow.card = MethodCard(name="slow", needs_trimap=False)

class Flaky:
    def __init__(self):
        self.n = 0
    def predict(self, image, trimap=None):
        self.n += 1
        if self.n % 2 == 0:
            raise RuntimeError("every second sample fails")
        return np.full(image.shape[:2], 0.5, np.float32)

def flaky():
    return Flaky()
flaky.card = MethodCard(name="flaky", needs_trimap=False)

class Cheat:
    """Claims to be an ordinary trimap-free method but copies the ground truth from observe()."""
    def __init__(self):
        self.alpha = None
    def observe(self, item):
        self.alpha = item.alpha
    def predict(self, image, trimap=None):
        if self.alpha is not None and self.alpha.shape == image.shape[:2]:
            return self.alpha.astype(np.float32)
        return np.full(image.shape[:2], 0.5, np.float32)

def cheat():
    return Cheat()
cheat.card = MethodCard(name="cheat", needs_trimap=False)

def broken_factory():
    raise RuntimeError("plug-in bug in its factory")
'''

PLUGIN_METHODS = {"slow-matte": "slow", "flaky-matte": "flaky", "cheat-matte": "cheat", "buggy-matte": "broken_factory"}


def trust_site(tmp_path: Path, version: str = "1.0", source: str = PLUGIN_SOURCE) -> Path:
    return install_plugin(tmp_path / "site", "trustplug", version, source, PLUGIN_METHODS)
