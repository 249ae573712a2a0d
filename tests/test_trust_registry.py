"""A name that exists is never silently overwritten; replace=True is explicit and recorded."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _trust_kit import cli, install_plugin
from conftest import TinyDataset

import mattebench
from mattebench.errors import RegistryError
from mattebench.methods.registry import _Registry, method_entry, unregister_method
from mattebench.runs.runner import evaluate
from mattebench.types import MethodCard


class Half:
    def predict(self, image, trimap=None):
        return np.full(image.shape[:2], 0.5, np.float32)


def test_registering_over_an_entry_point_raises_naming_both_origins():
    # knn comes from mattebench's own entry point and may not have been imported yet
    with pytest.raises(RegistryError) as exc:
        mattebench.register_method("knn", lambda: Half())
    text = str(exc.value)
    assert "entry point knn = mattebench_baselines.classical:knn" in text and "code (" in text and "replace=True" in text
    assert method_entry("knn").factory.__module__ == "mattebench_baselines.classical"  # untouched


def test_in_process_duplicate_names_both_origins():
    mattebench.register_method("trust-dup", lambda: Half())
    try:
        with pytest.raises(RegistryError, match=r"already registered \(from code \(.*test_trust_registry\)\).*second registration from code"):
            mattebench.register_method("trust-dup", lambda: Half())
    finally:
        unregister_method("trust-dup")


def test_replace_true_is_explicit_and_recorded_in_the_run_identity(tmp_path):
    original = method_entry("trimap-midpoint")
    mattebench.register_method("trimap-midpoint", lambda: Half(), replace=True, card=MethodCard("trimap-midpoint", needs_trimap=True))
    try:
        entry = method_entry("trimap-midpoint")
        assert entry.replaces == original.origin
        evaluate("trimap-midpoint", TinyDataset(n=1), out=tmp_path)
        stored = json.loads((tmp_path / "tiny" / "trimap-midpoint" / "run.json").read_text())
        assert stored["method_code"]["replaces"].startswith("entry point trimap-midpoint")
        assert "test_trust_registry" in stored["method_code"]["factory"]
    finally:
        from mattebench.methods.registry import _methods

        _methods._entries["trimap-midpoint"] = original  # back to the entry point's registration


def test_two_installed_plugins_claiming_one_name_are_both_named(tmp_path):
    site = tmp_path / "site"
    src = "import numpy as np\ndef make():\n    raise SystemExit('never built')\n"
    install_plugin(site, "firstpkg", "1.0", src, {"same-name": "make"})
    install_plugin(site, "secondpkg", "3.1", src, {"same-name": "make"})
    out = cli(["list", "methods"], site)
    assert out.returncode == 0
    text = out.stdout + out.stderr
    assert "registered twice" in text and "firstpkg 1.0" in text and "secondpkg 3.1" in text


def test_duplicate_entry_points_in_one_scan(monkeypatch):
    class Dist:
        def __init__(self, name):
            self.name, self.version = name, "0.1"

    class EP:
        def __init__(self, value, dist):
            self.name, self.value, self.dist = "twice", value, Dist(dist)

        def load(self):
            return lambda: Half()

    monkeypatch.setattr("mattebench.methods.registry.metadata.entry_points", lambda group: [EP("a:f", "a"), EP("b:f", "b")])
    reg = _Registry("method", "x", MethodCard)
    with pytest.warns(UserWarning, match="registered twice"):
        assert reg.names() == []
    with pytest.raises(RegistryError, match="registered twice"):
        reg.entry("twice")
