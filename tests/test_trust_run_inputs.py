"""A run is made of exactly what its identity says: every file a model loads, the plug-in distribution's
files, and each sample's input files by content (a row's ``inputs_sha256``, checked on resume)."""

from __future__ import annotations

import csv
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from _fake_trees import make_crgnn
from _trust_kit import cli, folder_dataset, install_plugin
from conftest import TinyDataset
from PIL import Image

import mattebench
from mattebench.errors import RunConflict, UsageError
from mattebench.methods.registry import unregister_method
from mattebench.runs import store
from mattebench.runs.runner import evaluate
from mattebench.runs.store import StoreWarning
from mattebench.types import MethodCard


# -- helpers ------------------------------------------------------------------------------------------
def uncompressed(path: Path) -> Path:
    """Re-save a PNG without compression, so that any pixel edit keeps its byte size."""
    Image.open(path).save(path, format="PNG", compress_level=0)
    return path


def edit_in_place(path: Path, y: int = 1, x: int = 1) -> None:
    """Change one pixel, keeping the file's size and modification time (what a fingerprint of names,
    sizes and mtimes cannot see)."""
    st = path.stat()
    a = np.array(Image.open(path))
    a[y, x] = 255 - a[y, x]
    Image.fromarray(a).save(path, format="PNG", compress_level=0)
    assert path.stat().st_size == st.st_size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def csv_lines(run: Path) -> dict[str, list[str]]:
    with open(run / "samples.csv", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return {rec[0]: rec for rec in reader} | {"<header>": header}


def resume(*args, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows, record = evaluate(*args, **kw)
    return rows, record, [str(w.message) for w in caught if issubclass(w.category, StoreWarning)]


# -- each sample's input files, by content ------------------------------------------------------------
@pytest.mark.parametrize("folder", ["alpha", "image"])
def test_a_file_edited_in_place_with_its_size_and_mtime_kept_is_recomputed(tmp_path, folder):
    data = folder_dataset(tmp_path / "data", ["a", "b", "c"])
    for f in (data / "alpha").iterdir():
        uncompressed(f)
    for f in (data / "image").iterdir():
        uncompressed(f)
    out = tmp_path / "r"
    evaluate("trimap-midpoint", "folder", data_root=str(data), out=out)
    run = out / "folder" / "trimap-midpoint"
    before = csv_lines(run)
    assert all(len(r[before["<header>"].index("inputs_sha256")]) == 64 for k, r in before.items() if k != "<header>")

    edit_in_place(data / folder / "b.png", 2, 2)
    rows, record, said = resume("trimap-midpoint", "folder", data_root=str(data), out=out)
    assert len(said) == 1 and "'b'" in said[0] and f"{folder}/b.png" in said[0] and "recomputed" in said[0], said
    after = csv_lines(run)
    assert after["a"] == before["a"] and after["c"] == before["c"]  # the unchanged samples: kept as they were
    assert after["b"] != before["b"] and record.counts.ok == 3 and len(rows) == 3
    # once recomputed, the row matches the files again: a further resume keeps everything
    _, _, said = resume("trimap-midpoint", "folder", data_root=str(data), out=out)
    assert said == [] and csv_lines(run) == after


def test_a_clip_frame_the_method_never_read_is_still_covered(tmp_path):
    """Every frame file of a clip is in its row's digest, also those a trimap-based method does not need."""
    root = tmp_path / "real_human_data"
    make_crgnn(root, videos=("v01", "v02"), n_frames=12)
    frame = uncompressed(root / "image_allframe" / "v02" / "frame00005.png")  # not annotated
    out = tmp_path / "r"
    evaluate("trimap-midpoint", "crgnn-r", data_root=str(root), out=out)
    edit_in_place(frame)
    _, record, said = resume("trimap-midpoint", "crgnn-r", data_root=str(root), out=out)
    assert len(said) == 1 and "'v02'" in said[0] and "changed" in said[0], said
    assert record.counts.ok == 2


def test_rows_without_a_valid_digest_are_recomputed(tmp_path):
    data = folder_dataset(tmp_path / "data", ["a", "b", "c", "d"])
    out = tmp_path / "r"
    evaluate("trimap-midpoint", "folder", data_root=str(data), out=out)
    run = out / "folder" / "trimap-midpoint"
    lines = csv_lines(run)
    header = lines.pop("<header>")
    col = header.index("inputs_sha256")
    lines["a"][col] = ""  # emptied
    lines["b"][col] = "not-a-digest"  # garbled
    lines["c"][col] = "0" * 63 + "1"  # a digest, but not of these files
    with open(run / "samples.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(lines.values())
    _, record, said = resume("trimap-midpoint", "folder", data_root=str(data), out=out)
    text = "\n".join(said)
    assert "'a'" in text and "no inputs_sha256" in text
    assert "'b'" in text and "not a sha256 digest" in text
    assert "'c'" in text and "changed" in text
    assert "'d'" not in text and record.counts.ok == 4
    assert all(len(r[col]) == 64 for k, r in csv_lines(run).items() if k != "<header>")


def test_rows_written_before_digests_existed_are_recomputed_with_one_warning(tmp_path):
    data = folder_dataset(tmp_path / "data", ["a", "b", "c"])
    out = tmp_path / "r"
    evaluate("trimap-midpoint", "folder", data_root=str(data), out=out)
    run = out / "folder" / "trimap-midpoint"
    lines = csv_lines(run)
    header = lines.pop("<header>")
    col = header.index("inputs_sha256")
    with open(run / "samples.csv", "w", newline="") as f:  # the samples.csv of an older mattebench
        w = csv.writer(f)
        w.writerow(header[:col] + header[col + 1:])
        w.writerows(r[:col] + r[col + 1:] for r in lines.values())
    _, record, said = resume("trimap-midpoint", "folder", data_root=str(data), out=out)
    assert len(said) == 1 and "3 rows are not trusted" in said[0] and "no inputs_sha256" in said[0], said
    assert record.counts.ok == 3


def test_generated_samples_have_nothing_to_check(tmp_path):
    from mattebench.data import sample_inputs

    evaluate("trimap-midpoint", TinyDataset(n=3), out=tmp_path, limit=2)
    _, record, said = resume("trimap-midpoint", TinyDataset(n=3), out=tmp_path)
    assert said == [] and record.counts.ok == 3
    rows = store.read_rows(tmp_path / "tiny" / "trimap-midpoint" / "samples.csv")
    assert {r["inputs_sha256"] for r in rows} == {sample_inputs.NO_FILES}


def test_the_digest_column_is_stored_as_text():
    from mattebench.data import sample_inputs

    assert sample_inputs.COLUMN in store.TEXT_COLUMNS


# -- every file a model loads -------------------------------------------------------------------------
onnx_models = pytest.mark.skipif(not all(__import__("importlib").util.find_spec(m) for m in ("onnx", "onnxruntime")),
                                 reason="needs onnx and onnxruntime")


def _external_data_model(folder: Path, name: str = "m.onnx") -> Path:
    """A 16x16 image model whose weights live in weights.bin beside it (as large exports are saved)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 16, 16])
    w = numpy_helper.from_array(np.full((1, 3, 1, 1), 0.25, np.float32), "w")
    nodes = [helper.make_node("Mul", ["x", "w"], ["xw"]),
             helper.make_node("ReduceMean", ["xw"], ["m"], axes=[1], keepdims=1),
             helper.make_node("Sigmoid", ["m"], ["y"])]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [w]), opset_imports=[helper.make_opsetid("", 13)])
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(folder / name), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert (folder / "weights.bin").is_file()
    return folder / name


@onnx_models
def test_an_onnx_models_external_data_changed_in_place_is_refused(tmp_path):
    model = _external_data_model(tmp_path / "model")
    opts = {"model": str(model), "name": "ext"}
    evaluate("onnx", TinyDataset(n=3), method_options=opts, out=tmp_path / "r", limit=1)
    weights = tmp_path / "model" / "weights.bin"
    st = weights.stat()
    weights.write_bytes(np.full(3, 0.75, np.float32).tobytes())  # same size, other weights, same mtime
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(RunConflict, match=r"model -> weights\.bin") as exc:
        evaluate("onnx", TinyDataset(n=3), method_options=opts, out=tmp_path / "r")
    assert "--fresh" in str(exc.value)
    stored = json.loads((tmp_path / "r" / "tiny" / "ext" / "run.json").read_text())
    assert set(stored["option_files"]) == {"model", "model -> weights.bin"}


@onnx_models
def test_onnx_external_locations_match_the_onnx_package(tmp_path):
    """Initializers, a constant in a node, a subgraph's initializer: each location, as onnx itself lists them."""
    import onnx
    from onnx import TensorProto, external_data_helper, helper, numpy_helper

    from mattebench import files as input_files

    def t(name, v):
        return numpy_helper.from_array(np.full((4,), v, np.float32), name)

    then_g = helper.make_graph([helper.make_node("Identity", ["k"], ["o1"])], "then", [],
                               [helper.make_tensor_value_info("o1", TensorProto.FLOAT, [4])], [t("k", 3.0)])
    else_g = helper.make_graph([helper.make_node("Constant", [], ["o2"], value=t("c2", 4.0))], "else", [],
                               [helper.make_tensor_value_info("o2", TensorProto.FLOAT, [4])])
    nodes = [helper.make_node("Constant", [], ["c"], value=t("c", 2.0)),
             helper.make_node("If", ["cond"], ["r"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Add", ["r", "w"], ["s"]), helper.make_node("Add", ["s", "c"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [t("w", 1.0)])
    model = helper.make_model(graph)
    for tensor in external_data_helper._get_all_tensors(model):  # initializers, subgraphs and node constants
        external_data_helper.set_external_data(tensor, location=f"{tensor.name}.bin")
    (tmp_path / "nested.onnx").write_bytes(model.SerializeToString())
    want = sorted({e.value for tensor in external_data_helper._get_all_tensors(onnx.load(str(tmp_path / "nested.onnx"), load_external_data=False))
                   for e in tensor.external_data if e.key == "location"})
    assert len(want) == 4
    assert input_files.onnx_external_locations(tmp_path / "nested.onnx") == want
    # the field numbers the parser walks are onnx.proto's
    T = onnx.TensorProto.DESCRIPTOR.fields_by_name
    A = onnx.AttributeProto.DESCRIPTOR.fields_by_name
    assert (T["external_data"].number, A["t"].number, A["g"].number, A["graphs"].number) == (13, 5, 6, 11)
    # a file named .onnx that is no model: refused with a reason, never a traceback
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07" + b"\xff" * 40)
    with pytest.raises(input_files.NotOnnx):
        input_files.dependent_files(tmp_path / "junk.onnx")


class FileOption:
    card = MethodCard(name="folder-option", needs_trimap=False)

    def predict(self, image, trimap=None):
        return np.full(image.shape[:2], 0.5, np.float32)


@pytest.fixture
def folder_method():
    mattebench.register_method("trust-folder-option", lambda model=None, device=None: FileOption())
    yield "trust-folder-option"
    unregister_method("trust-folder-option")


def test_a_folder_named_by_an_option_is_hashed_by_content(tmp_path, folder_method, monkeypatch):
    weights = tmp_path / "weights"
    (weights / "sub").mkdir(parents=True)
    (weights / "sub" / "layer1.bin").write_bytes(b"one")
    (weights / "config.json").write_text("{}")
    os.mkfifo(weights / "pipe")  # a fifo in the folder: listed, never opened (it would block)
    opts = {"model": str(weights)}
    evaluate(folder_method, TinyDataset(n=2), method_options=opts, out=tmp_path / "r", limit=1)
    f = weights / "sub" / "layer1.bin"
    st = f.stat()
    f.write_bytes(b"two")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(RunConflict, match="file named by option model"):
        evaluate(folder_method, TinyDataset(n=2), method_options=opts, out=tmp_path / "r")
    from mattebench import files as input_files

    monkeypatch.setattr(input_files, "MAX_TREE_FILES", 2)
    with pytest.raises(UsageError, match="more than 2 files"):
        evaluate(folder_method, TinyDataset(n=2), method_options=opts, out=tmp_path / "r2")


# -- the plug-in distribution's files -----------------------------------------------------------------
WEIGHTED_SOURCE = '''
import json, os
import numpy as np
from mattebench.types import MethodCard

HERE = os.path.dirname(os.path.abspath(__file__))

class Weighted:
    def __init__(self):
        with open(os.path.join(HERE, "weights.json")) as f:
            self.v = float(json.load(f)["v"])
    def predict(self, image, trimap=None):
        return np.full(image.shape[:2], self.v, np.float32)

def weighted():
    return Weighted()
weighted.card = MethodCard(name="weighted", needs_trimap=False)
'''


def test_a_plugins_data_files_are_part_of_its_identity(tmp_path):
    data = folder_dataset(tmp_path / "data", ["a", "b", "c"])
    site = install_plugin(tmp_path / "site", "weightplug", "1.0", WEIGHTED_SOURCE, {"weighted-matte": "weighted"})
    (site / "weightplug" / "weights.json").write_text('{"v": 0.25}')
    shared = site / "weightplug_data" / "table.txt"  # installed by the distribution outside its package
    shared.parent.mkdir()
    shared.write_text("1 2 3\n")
    record = next(site.glob("weightplug-*.dist-info")) / "RECORD"
    record.write_text(record.read_text() + "weightplug_data/table.txt,,\n")
    out = tmp_path / "r"
    args = ["run", "--quiet", "--method", "weighted-matte", "--dataset", "folder", "--data-root", str(data), "--out", str(out)]
    first = cli([*args, "--limit", "1"], site)
    assert first.returncode == 0, first.stderr
    (site / "weightplug" / "weights.json").write_text('{"v": 0.75}')  # other weights, same code, same version
    again = cli(args, site)
    assert again.returncode == 2 and "weightplug/weights.json changed" in again.stderr, again.stderr
    assert "Traceback" not in again.stderr
    (site / "weightplug" / "weights.json").write_text('{"v": 0.25}')
    shared.write_text("3 2 1\n")
    third = cli(args, site)
    assert third.returncode == 2 and "weightplug_data/table.txt changed" in third.stderr, third.stderr
    shared.write_text("1 2 3\n")
    (site / "weightplug" / "__pycache__").mkdir(exist_ok=True)
    (site / "weightplug" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"cache")  # caches are no identity
    assert cli(args, site).returncode == 0


def test_a_robustness_grid_does_not_reuse_a_cell_whose_files_changed(tmp_path, capsys):
    """`mattebench robustness` skips stored cells without calling evaluate(): the skip checks the rows' files too."""
    from mattebench.commands.cli import main

    data = folder_dataset(tmp_path / "data", ["a", "b"])
    for f in (data / "alpha").iterdir():
        uncompressed(f)
    args = ["robustness", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", str(data), "--kinds", "jpeg",
            "--severities", "1", "--out", str(tmp_path / "r"), "--report", str(tmp_path / "rep"), "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    assert "(ran)" not in capsys.readouterr().err  # nothing changed: every cell stored
    edit_in_place(data / "alpha" / "b.png", 2, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(args) == 0
    err = capsys.readouterr().err
    assert err.count("(ran)") == 2 and "(stored)" not in err, err  # the clean cell and the jpeg cell
    assert any("'b'" in str(w.message) and "alpha/b.png" in str(w.message) for w in caught)
