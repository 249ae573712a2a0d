"""`train --stop-after N`: end part-way through a schedule, then resume it to the same weights as one run."""

from __future__ import annotations

import torch
from test_train import TinyDataset, TinyMethod

from mattebench.methods.train import train


def test_stop_after_then_resume_equals_one_run(tmp_path):
    ref = TinyMethod()
    train(ref, TinyDataset(), steps=6, size=24, batch=2, out=tmp_path / "a", log_every=1, save_every=2, progress=False)
    part = TinyMethod()
    res = train(part, TinyDataset(), steps=6, size=24, batch=2, out=tmp_path / "b", log_every=1, save_every=2, stop_after=3, progress=False)
    assert res.steps == 3 and res.checkpoint.name == "last.ckpt" and not (tmp_path / "b" / "final.ckpt").exists()
    rest = TinyMethod()
    res2 = train(rest, TinyDataset(), steps=6, size=24, batch=2, out=tmp_path / "b", log_every=1, save_every=2, progress=False)
    assert res2.steps == 6 and (tmp_path / "b" / "final.ckpt").exists()
    for k, v in ref.model.state_dict().items():
        torch.testing.assert_close(rest.model.state_dict()[k], v, rtol=1e-5, atol=1e-6)
