"""The teacher-mix training stream (issue 17): synthetic portraits with augmentation mixed with
teacher-labelled photos; batches that say which labels are exact; MODNet's mixed loss."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
import torch
from mattebench_baselines.modnet import create_modnet
from mattebench_baselines.modnet.training import mixed_loss, paper_loss, teacher_loss

import mattebench.data.teacher_mix as tm
from mattebench.data.augment import ColourJitter, degrade, sample_colour, zoom_rotate
from mattebench.data.realsplit import split_photos
from mattebench.methods.train.batches import collate, crop_and_resize


class FakeTeacher:
    """A centred ellipse as the 'person' of every photo (the real teacher needs ../shared/models)."""

    name = "fake-teacher"

    def __init__(self, path):
        self.calls = 0

    def mask(self, image):
        self.calls += 1
        h, w = image.shape[:2]
        m = np.zeros((h, w), np.float32)
        cv2.ellipse(m, (w // 2, h // 2), (w // 4, h // 3), 0, 0, 360, 1.0, -1)
        return cv2.GaussianBlur(m, (0, 0), 2)


@pytest.fixture
def photos(tmp_path, monkeypatch):
    monkeypatch.setattr(tm, "SelfieTeacher", FakeTeacher)
    d = tmp_path / "image"
    d.mkdir()
    rng = np.random.default_rng(0)
    for name in ("b", "a", "d", "c", "e"):
        cv2.imwrite(str(d / f"{name}.jpg"), rng.integers(0, 255, (96, 80, 3), dtype=np.uint8))
    return d


def test_take_first_n_uses_the_sorted_first_photos_only(photos):
    ds = tm.TeacherMixStream(photos=str(photos), take="first:3", teacher="x", skimage=False)
    assert ds.ids() == ["a", "b", "c"]
    split = split_photos(photos, n_adapt=3)
    assert split.adapt == ("a", "b", "c") and split.evaluate == ("d", "e")


def test_examples_are_deterministic_and_pseudo_labels_are_marked(photos):
    ds = tm.TeacherMixStream(photos=str(photos), teacher="x", synthetic_fraction=0.5, skimage=False)
    kinds = []
    for i in range(24):
        s = ds.training_sample(i)
        again = ds.training_sample(i)
        np.testing.assert_array_equal(s.image, again.image)
        np.testing.assert_array_equal(s.alpha, again.alpha)
        assert s.image.shape[:2] == s.alpha.shape and s.image.dtype == np.uint8
        assert 0 <= s.alpha.min() and s.alpha.max() <= 1
        pseudo = bool(s.metadata.get("pseudo_label"))
        kinds.append(pseudo)
        assert (s.fg is None and s.bg is None) if pseudo else (s.fg is not None and s.bg is not None)
    assert 4 <= sum(kinds) <= 20  # both kinds occur at a 1/2 mix


def test_skimage_photos_without_a_person_are_negatives(monkeypatch):
    monkeypatch.setattr(tm, "SelfieTeacher", FakeTeacher)
    ds = tm.TeacherMixStream(teacher="x", synthetic_fraction=0.0)
    k = ds.ids().index("skimage-chelsea")
    assert ds._photo(k)[1].max() == 0.0
    assert ds._photo(ds.ids().index("skimage-astronaut"))[1].max() > 0.5


def test_mixed_batches_carry_exact_flags_and_whole_colour_stacks(photos):
    ds = tm.TeacherMixStream(photos=str(photos), teacher="x", synthetic_fraction=0.5, skimage=False)
    rng = np.random.default_rng(0)
    samples = [ds.training_sample(i) for i in range(12)]
    batch = collate([crop_and_resize(s, 64, rng) for s in samples])
    flags = batch["exact"].reshape(-1).tolist()
    assert flags == [0.0 if s.metadata.get("pseudo_label") else 1.0 for s in samples]
    assert batch["fg"].shape == batch["image"].shape == batch["bg"].shape
    exact_only = collate([crop_and_resize(s, 64, rng) for s in samples if not s.metadata.get("pseudo_label")])
    assert "exact" not in exact_only  # plain synthetic batches are unchanged


def _batch(b=4, size=64, exact=(1, 0, 1, 0)):
    g = torch.Generator().manual_seed(0)
    alpha = torch.rand(b, 1, size, size, generator=g)
    tri = torch.where(alpha > 0.7, 1.0, torch.where(alpha < 0.3, 0.0, 0.5))
    img = torch.rand(b, 3, size, size, generator=g)
    return {"image": img, "alpha": alpha, "trimap": tri, "fg": img.flip(1), "bg": img * 0.5,
            "exact": torch.tensor(exact, dtype=torch.float32).view(-1, 1, 1, 1)}


def test_mixed_loss_is_the_share_weighted_sum_of_its_parts():
    b = _batch()
    g = torch.Generator().manual_seed(1)
    s, d, a = torch.rand(4, 1, 4, 4, generator=g), torch.rand(4, 1, 64, 64, generator=g), torch.rand(4, 1, 64, 64, generator=g)
    total, parts = mixed_loss(paper_loss, s, d, a, b)
    ex, ps = torch.tensor([0, 2]), torch.tensor([1, 3])
    sub = lambda idx: {k: v[idx] for k, v in b.items() if k != "exact"}  # noqa: E731
    te, _ = paper_loss(s[ex], d[ex], a[ex], sub(ex))
    tp, pp = teacher_loss(s[ps], d[ps], a[ps], sub(ps))
    torch.testing.assert_close(total, 0.5 * te + 0.5 * tp)
    assert set(parts) == {"semantic", "detail", "matte", "comp", "t_semantic", "t_matte"}
    all_exact = {**b, "exact": torch.ones(4, 1, 1, 1)}
    torch.testing.assert_close(mixed_loss(paper_loss, s, d, a, all_exact)[0], paper_loss(s, d, a, b)[0])


def test_teacher_loss_weights_region_means_one_and_a_quarter():
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1.0
    mask[..., 8:24, 15:17] = 0.5  # an unsure band
    b = {"alpha": mask}
    wrong_confident = mask.clone()
    wrong_confident[..., 0:2, 0:16] = 1.0  # 32 confident pixels wrong by 1
    wrong_unsure = mask.clone()
    wrong_unsure[..., 8:24, 15:17] = 1.0  # 32 unsure pixels off by 0.5
    s = torch.zeros(1, 1, 2, 2)
    n_unsure = 32
    n_conf = 32 * 32 - n_unsure
    lc = teacher_loss(s, mask, wrong_confident, b)[1]["t_matte"]
    lu = teacher_loss(s, mask, wrong_unsure, b)[1]["t_matte"]
    assert float(lc) == pytest.approx(32 * 1.0 / n_conf)  # the mean over confident pixels, weight 1
    assert float(lu) == pytest.approx(0.25 * (32 * 0.5) / n_unsure)  # the mean over unsure pixels, weight 1/4
    assert float(teacher_loss(s, mask, mask, b)[1]["t_matte"]) == 0.0


def test_a_mixed_batch_trains_modnet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = create_modnet()
    m.model.train()
    loss, parts = m.training_step(_batch())
    loss.backward()
    assert torch.isfinite(loss) and "t_semantic" in parts and "semantic" in parts
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in m.model.parameters())


def test_augmentation_is_deterministic_and_keeps_shapes():
    img = np.random.default_rng(0).integers(0, 255, (60, 50, 3), dtype=np.uint8)
    a = degrade(img, np.random.default_rng(3), p=1.0)
    b = degrade(img, np.random.default_rng(3), p=1.0)
    np.testing.assert_array_equal(a, b)
    assert a.shape == img.shape and a.dtype == np.uint8 and not np.array_equal(a, img)
    ident = ColourJitter((1.0, 1.0, 1.0), 0.0, 1.0, 1.0, 1.0)
    assert np.abs(ident.apply(img).astype(int) - img).max() <= 1
    jit = sample_colour(np.random.default_rng(1))
    assert jit.apply(img).shape == img.shape
    mask = np.zeros((60, 50), np.float32)
    mask[20:40, 10:30] = 1
    pi, pm = zoom_rotate([img, mask], np.random.default_rng(5))
    assert pi.shape[:2] == pm.shape
