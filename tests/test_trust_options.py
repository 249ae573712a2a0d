"""Unknown -m keys are refused before any sample for every method; badly typed values too."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
from mattebench_baselines.classical import OPTION_TYPES

from mattebench.errors import RegistryError
from mattebench.methods.options import OptionTypeError, check_options, declared_options
from mattebench.methods.registry import (
    create_method,
    list_methods,
    load_dataset,
    method_entry,
    validate_method_options,
)

CLASSICAL = ("closed-form", "knn", "large-kernel", "learning-based", "random-walk", "shared-sampling")


@pytest.mark.parametrize("name", CLASSICAL)
def test_classical_methods_refuse_unknown_options_with_the_valid_list(name):
    with pytest.raises(RegistryError, match="does not take option.*bogus") as exc:
        create_method(name, bogus=1)
    assert "laplacian_kwargs" in str(exc.value) or "trimap_expansion_radius" in str(exc.value)
    with pytest.raises(RegistryError, match="device"):
        create_method(name, device="cuda")  # --device is no option of a pymatting method: said, not ignored


@pytest.mark.parametrize("name", CLASSICAL)
def test_classical_methods_accept_their_declared_options(name):
    key = "cg_kwargs" if name != "shared-sampling" else "trimap_expansion_radius"
    value = {"maxiter": 10} if key == "cg_kwargs" else 5
    m = create_method(name, **{key: value})
    assert m.options == {key: value}


def test_every_registered_method_declares_its_options():
    """No mattebench method takes **options blindly (a plug-in may; it then gets no check)."""
    for name in list_methods():
        e = method_entry(name)
        if e.origin.startswith("entry point") and "mattebench_baselines." in e.origin:
            assert declared_options(e.factory) is not None, name


def _pymatting_signature(function_name: str) -> set[str]:
    spec = importlib.util.find_spec("pymatting")
    for folder in spec.submodule_search_locations:
        for f in sorted(Path(folder).rglob("*.py")):  # the same first match on any file system
            for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef) and node.name == function_name:
                    return {a.arg for a in node.args.args + node.args.kwonlyargs}
    raise AssertionError(f"{function_name} not found in pymatting")


@pytest.mark.parametrize("function_name", sorted(OPTION_TYPES))
def test_declared_lists_match_pymatting(function_name):
    real = _pymatting_signature(function_name) - {"image", "trimap", "return_foreground_background"}
    assert set(OPTION_TYPES[function_name]) == real


@pytest.mark.parametrize(
    "name,options,needle",
    [
        ("modnet", {"ref_size": "abc"}, "ref_size='abc' is str, expected an integer"),
        ("modnet", {"ref_size": 512.5}, "expected an integer"),
        ("modnet", {"half": "yes"}, "true or false"),
        ("modnet", {"checkpoint": 123}, "text"),
        ("knn", {"cg_kwargs": "fast"}, "JSON object"),
        ("shared-sampling", {"sample_gathering_angles": 1.5}, "integer"),
    ],
)
def test_badly_typed_values_are_usage_errors(name, options, needle):
    with pytest.raises(OptionTypeError, match=needle):
        validate_method_options(name, options)


def test_dataset_options_are_typed_too():
    with pytest.raises(OptionTypeError, match="n=.*expected"):
        load_dataset("synthetic", n="many")


def test_a_plugin_declaring_option_types_is_checked():
    def make(**options):
        return options

    make.option_types = {"width": int}
    check_options("method", "p", make, {"width": 3})
    with pytest.raises(RegistryError, match="accepts: width"):
        check_options("method", "p", make, {"height": 3})
