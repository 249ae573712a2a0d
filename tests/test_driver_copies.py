"""The driver's side of a hosted method without its extra copies, at the same values and the same refusals:
answers read from the pipe straight into their arrays (mattebench.methods.host._recv_message_into), the
prediction check's finiteness test folded into its min/max, and an upright photo not copied by its EXIF step."""

from __future__ import annotations

import json
import os
import multiprocessing as mp
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from mattebench.data.io import read_image
from mattebench.errors import HostProtocolError, PredictionError
from mattebench.methods.host import read_answer, read_header
from mattebench.scoring.scorer import check_prediction


def _request(h: int, w: int) -> SimpleNamespace:
    return SimpleNamespace(indices=(0,), images=(np.zeros((h, w, 3), np.uint8),))


def _answer_over_a_pipe(arrays: list[np.ndarray], announced: list[dict] | None = None,
                        raw: list[bytes] | None = None) -> tuple[object, object]:
    """A real duplex multiprocessing pipe (a socket pair, as between the driver and a host); the far end sends
    a header and the array messages from a thread, as a host does (large messages block until read)."""
    ours, theirs = mp.Pipe(duplex=True)
    specs = announced if announced is not None else [
        {"index": 0, "shape": list(a.shape), "dtype": str(a.dtype)} for a in arrays]

    def send() -> None:
        theirs.send_bytes(json.dumps({"kind": "answer", "seconds": 0.5, "error": None, "arrays": specs}).encode())
        for chunk in (raw if raw is not None else [memoryview(np.ascontiguousarray(a)).cast("B") for a in arrays]):
            theirs.send_bytes(chunk)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    return ours, (theirs, t)


@pytest.mark.parametrize("dtype,shape", [("float32", (300, 500)), ("float64", (37, 41)), ("uint8", (123, 77)),
                                         ("float16", (64, 64, 1)), ("float32", (1, 1))])
def test_answers_arrive_bit_for_bit(dtype: str, shape: tuple[int, ...]):
    rng = np.random.default_rng(3)
    a = (rng.random(shape) * (255 if dtype == "uint8" else 1)).astype(dtype)
    conn, (far, t) = _answer_over_a_pipe([a])
    head = read_header(conn)
    ans = read_answer(conn, head, _request(*shape[:2]))
    t.join()
    got = ans.predictions[0]
    assert got.dtype == a.dtype and got.shape == a.shape and got.tobytes() == a.tobytes()
    assert got.flags.writeable and got.flags.owndata  # the driver's own array: nothing else holds its memory
    conn.close(), far.close()


def test_an_array_past_the_fast_framing_boundary_arrives_whole():
    """Several socket buffers' worth (8 MB): the reader loops over partial reads."""
    a = np.random.default_rng(1).random((1024, 2048), dtype=np.float32)
    conn, (far, t) = _answer_over_a_pipe([a])
    ans = read_answer(conn, read_header(conn), _request(1024, 2048))
    t.join()
    assert np.array_equal(ans.predictions[0], a)
    conn.close(), far.close()


@pytest.mark.parametrize("sent", [b"\x00" * 10, b"\x00" * 14])
def test_an_array_of_another_size_than_announced_is_a_protocol_error(sent: bytes):
    # announced 3x4 uint8 = 12 bytes; 10 (short) and 14 (long) bytes are sent
    conn, (far, t) = _answer_over_a_pipe([], announced=[{"index": 0, "shape": [3, 4], "dtype": "uint8"}], raw=[sent])
    with pytest.raises(HostProtocolError, match="another size"):
        read_answer(conn, read_header(conn), _request(3, 4))
    t.join()
    conn.close(), far.close()


def test_a_host_that_dies_mid_array_is_eof_not_a_hang():
    ours, theirs = mp.Pipe(duplex=True)
    theirs.send_bytes(json.dumps({"kind": "answer", "seconds": 0.1, "error": None,
                                  "arrays": [{"index": 0, "shape": [100, 100], "dtype": "float32"}]}).encode())
    os.write(theirs.fileno(), (40000).to_bytes(4, "big") + b"\x00" * 1000)  # send_bytes framing, then the writer is gone
    theirs.close()
    head = read_header(ours)
    with pytest.raises(EOFError):
        read_answer(ours, head, _request(100, 100))
    ours.close()


def test_another_transport_still_reads_through_recv_bytes():
    """Ray hands read_answer a list-backed connection: the fallback reads the same arrays."""
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 11

    class ListConn:
        def __init__(self, messages: list[bytes]) -> None:
            self.messages = messages

        def recv_bytes(self, maxlength: int | None = None) -> bytes:
            return self.messages.pop(0)

    head = {"kind": "answer", "seconds": 0.0, "error": None, "arrays": [{"index": 0, "shape": [3, 4], "dtype": "float32"}]}
    ans = read_answer(ListConn([a.tobytes()]), head, _request(3, 4))
    assert ans.predictions[0].tobytes() == a.tobytes() and ans.predictions[0].flags.writeable
    with pytest.raises(HostProtocolError, match="another size"):
        read_answer(ListConn([a.tobytes()[:-4]]), head, _request(3, 4))


# -- the prediction check ----------------------------------------------------------------------------
def _literal_check(pred: np.ndarray) -> np.ndarray:
    """The check as it was written before: an isfinite pass, then min/max, then clip."""
    pred = pred.astype(np.float32, copy=False)
    if not np.isfinite(pred).all():
        raise PredictionError("non-finite")
    lo, hi = float(pred.min()), float(pred.max())
    if lo < -1e-3 or hi > 1.0 + 1e-3:
        raise PredictionError("range")
    return np.clip(pred, 0.0, 1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [(0, 0), (5, 7), (9, 12)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_every_non_finite_pixel_is_refused_wherever_it_is(bad: float, where: tuple[int, int], dtype: type):
    p = np.full((10, 13), 0.5, dtype=dtype)
    p[where] = bad
    with pytest.raises(PredictionError, match="1 NaN/inf pixels"):
        check_prediction(p, (10, 13), "x")
    q = p.copy()
    q[:] = bad  # every pixel
    with pytest.raises(PredictionError, match="130 NaN/inf pixels"):
        check_prediction(q, (10, 13), "x")


def test_float64_beyond_float32_is_refused_as_infinite():
    p = np.full((4, 4), 0.5)
    p[1, 1] = 1e300  # becomes inf in float32, as before
    with pytest.raises(PredictionError, match="NaN/inf"):
        check_prediction(p, (4, 4), "x")


@pytest.mark.parametrize("seed", range(5))
def test_the_check_returns_what_the_literal_check_returns(seed: int):
    rng = np.random.default_rng(seed)
    p = rng.uniform(-0.0009, 1.0009, (40, 30)).astype(np.float32)
    got = check_prediction(p, (40, 30), "x")
    want = _literal_check(p)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    assert got is not p  # the scorer owns what it scores
    with pytest.raises(PredictionError, match="span"):
        check_prediction(p * 2, (40, 30), "x")


# -- the photo's EXIF step ---------------------------------------------------------------------------
@pytest.mark.parametrize("orientation", [None, 1, 3, 6, 8])
def test_photo_orientation_matches_exif_transpose(tmp_path, orientation):
    from PIL import ImageOps

    rng = np.random.default_rng(7)
    img = Image.fromarray(rng.integers(0, 256, (24, 40, 3), dtype=np.uint8))
    path = tmp_path / "p.png"
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    img.save(path, exif=exif)
    with Image.open(path) as ref:
        want = np.asarray(ImageOps.exif_transpose(ref).convert("RGB"))
    got = read_image(path)
    assert got.shape == want.shape and np.array_equal(got, want)
    if orientation in (6, 8):
        assert got.shape[:2] == (40, 24)


def test_an_in_range_prediction_comes_back_bit_for_bit_as_the_clip_gave_it():
    p = np.random.default_rng(11).random((33, 21)).astype(np.float32)
    p[0, :4] = [-0.0, 0.0, 1.0, np.float32(1.0) - np.float32(2**-24)]
    got = check_prediction(p, (33, 21), "x")
    assert got.tobytes() == _literal_check(p).tobytes() and got is not p
    p[0, 0] = 1.0005  # within the tolerance: clipped to 1, as before
    got = check_prediction(p, (33, 21), "x")
    assert got.tobytes() == _literal_check(p).tobytes() and got[0, 0] == 1.0
