import warnings

import numpy as np
import pytest

import mattebench
from mattebench.errors import RegistryError
from mattebench.methods.registry import _Registry, unregister_method
from mattebench.types import FAMILY_TRIMAP, MethodCard


class Echo:
    def predict(self, image, trimap=None):
        return np.zeros(image.shape[:2], np.float32)


def test_register_create_list_and_default_card():
    mattebench.register_method("test-echo", lambda **o: Echo())
    try:
        assert "test-echo" in mattebench.list_methods()
        m = mattebench.create_method("test-echo")
        assert m.predict(np.zeros((4, 5, 3), np.uint8)).shape == (4, 5)
        card = mattebench.method_card("test-echo")
        assert card.name == "test-echo" and card.needs_trimap is False  # sensible defaults
    finally:
        unregister_method("test-echo")


def test_duplicate_name_is_refused_with_origin():
    mattebench.register_method("test-dup", lambda: Echo())
    try:
        with pytest.raises(RegistryError, match="already registered"):
            mattebench.register_method("test-dup", lambda: Echo())
    finally:
        unregister_method("test-dup")


def test_card_from_factory_attribute_and_family_follows_trimap():
    def make():
        return Echo()

    make.card = MethodCard(name="ignored", needs_trimap=True)
    mattebench.register_method("test-card", make)
    try:
        card = mattebench.method_card("test-card")
        assert card.name == "test-card"  # the registered name wins over the card's
        assert card.family == FAMILY_TRIMAP
    finally:
        unregister_method("test-card")


def test_unknown_name_suggests_close_match():
    with pytest.raises(RegistryError, match="closed-form"):
        mattebench.create_method("closed-from")


def test_unknown_option_is_named():
    with pytest.raises(RegistryError, match="does not take option"):
        mattebench.create_method("trimap-midpoint", bogus=1)


def test_factory_must_return_predictor():
    mattebench.register_method("test-bad", lambda: object())
    try:
        with pytest.raises(RegistryError, match="no predict"):
            mattebench.create_method("test-bad")
    finally:
        unregister_method("test-bad")


def test_builtin_methods_come_from_entry_points():
    names = mattebench.list_methods()
    for n in ["closed-form", "knn", "large-kernel", "learning-based", "random-walk", "shared-sampling", "trimap-midpoint", "gt-echo"]:
        assert n in names
    assert mattebench.method_card("knn").needs_trimap


def test_broken_entry_point_warns_and_others_survive(monkeypatch):
    class EP:
        def __init__(self, name, value, fn):
            self.name, self.value, self._fn = name, value, fn

        def load(self):
            return self._fn()

    def boom():
        raise ImportError("No module named 'missing_pkg'")

    eps = [EP("ok-one", "pkg:ok", lambda: (lambda: Echo())), EP("broken-one", "missing_pkg:f", boom)]
    monkeypatch.setattr("mattebench.methods.registry.metadata.entry_points", lambda group: eps)
    reg = _Registry("method", "x", MethodCard)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        names = reg.names()
    assert names == ["ok-one"]
    assert any("broken-one" in str(x.message) and "missing_pkg" in str(x.message) for x in w)
    with pytest.raises(RegistryError, match="failed to load"):
        reg.entry("broken-one")
