"""Training MODNet: its losses (paper eq. 2-5 and the official code's form), the training step of the
shared loop, and SOC self-supervised adaptation (paper Sec. 'Sub-Objectives Consistency').

MODNet's training losses, in the paper's form (eq. 2-5) and in the official code's form.

Both take the model outputs (s_p at 1/16, d_p and alpha_p at full size, all after the sigmoid) and a
training batch (``image``, ``alpha``, ``trimap`` in {0, 0.5, 1}, ``fg``, ``bg``; all in [0, 1]) and return
``(total, parts)`` with the weighted parts that sum to the total.
"""

from __future__ import annotations

import copy
import csv
import functools
import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mattebench_baselines.modnet import checkpoints as ckpt
from mattebench_baselines.modnet.inference import InputRule, prepare
from mattebench_baselines.modnet.model import MODNet
from scipy.ndimage import gaussian_filter
from torch import nn

from mattebench.errors import MattebenchError
from mattebench.methods.train.losses import (
    alpha_l1,
    compositional_l1,
    masked_mean,
    unknown_mask,
)

LAMBDA_S, LAMBDA_D, LAMBDA_A = 1.0, 10.0, 1.0  # eq. 5


@functools.lru_cache(maxsize=None)
def _blur_kernel() -> np.ndarray:
    """3x3 Gaussian of the official GaussianBlurLayer(1, 3): sigma = 0.3 * ((3 - 1) * 0.5 - 1) + 0.8 = 0.8,
    taken as a blurred unit impulse (scipy, reflect mode), which sums to 1."""
    impulse = np.zeros((3, 3))
    impulse[1, 1] = 1.0
    return gaussian_filter(impulse, 0.8)


def blur(x: torch.Tensor) -> torch.Tensor:
    k = torch.as_tensor(_blur_kernel(), dtype=x.dtype, device=x.device).expand(x.shape[1], 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), k, groups=x.shape[1])


def thumbnail(alpha: torch.Tensor) -> torch.Tensor:
    """G of eq. 2: 16x bilinear downsampling followed by the 3x3 Gaussian blur."""
    return blur(F.interpolate(alpha, scale_factor=1 / 16, mode="bilinear", align_corners=False))


def paper_loss(pred_semantic, pred_detail, pred_matte, batch: dict[str, torch.Tensor], lambda_s: float = LAMBDA_S, lambda_d: float = LAMBDA_D):
    """Eq. 2-5.

    - L_s = 1/2 mean (s_p - G(alpha_g))^2 (the L2 norm read as a mean square, as the official code does);
    - L_d = mean over the transition region m_d of |d_p - alpha_g| (m_d = the unknown band of the training
      trimap, which is dilation minus erosion of alpha_g);
    - L_a = mean |alpha_p - alpha_g| + L_c, L_c the compositional loss with the true F and B;
    - L = L_s + 10 L_d + L_a (``lambda_s``/``lambda_d`` change the weights; 0 switches a term off, as in
      the ablation of Table 3).
    """
    alpha = batch["alpha"]
    m_d = unknown_mask(batch["trimap"])
    l_s = 0.5 * F.mse_loss(pred_semantic, thumbnail(alpha))
    l_d = masked_mean((pred_detail - alpha).abs(), m_d)
    l_a = alpha_l1(pred_matte, alpha)
    if "fg" in batch and "bg" in batch:
        l_c = compositional_l1(pred_matte, batch["fg"], batch["bg"], batch["image"])
    else:
        warnings.warn("MODNet paper loss: the batch has no true fg/bg, so the compositional term L_c is left out", stacklevel=2)
        l_c = alpha.new_zeros(())
    parts = {"semantic": lambda_s * l_s, "detail": lambda_d * l_d, "matte": LAMBDA_A * l_a, "comp": LAMBDA_A * l_c}
    return sum(parts.values()), parts


def official_loss(pred_semantic, pred_detail, pred_matte, batch: dict[str, torch.Tensor], semantic_scale: float = 10.0, detail_scale: float = 10.0, matte_scale: float = 1.0):
    """The released ``supervised_training_iter`` (documented there as giving similar results):

    - semantic: 10 x MSE(s_p, blur(bilinear 1/16 of alpha_g));
    - detail: 10 x mean over ALL pixels of |d_p - alpha_g| on the unknown region (known pixels take the
      trimap value on both sides, so they add 0);
    - matte: L1 + 4 x L1 with alpha_p replaced by the trimap on known pixels, plus the same two terms
      on ``image * alpha`` where ``image`` is the network input in [-1, 1] (not a composite).
    """
    alpha, trimap = batch["alpha"], batch["trimap"]
    known = unknown_mask(trimap) < 0.5
    image = batch["image"] * 2.0 - 1.0  # the normalised network input of the official code
    semantic = semantic_scale * F.mse_loss(pred_semantic, thumbnail(alpha))
    detail = detail_scale * F.l1_loss(torch.where(known, trimap, pred_detail), torch.where(known, trimap, alpha))
    boundary_matte = torch.where(known, trimap, pred_matte)
    l1 = F.l1_loss(pred_matte, alpha) + 4.0 * F.l1_loss(boundary_matte, alpha)
    comp = F.l1_loss(image * pred_matte, image * alpha) + 4.0 * F.l1_loss(image * boundary_matte, image * alpha)
    parts = {"semantic": semantic, "detail": detail, "matte": matte_scale * l1, "comp": matte_scale * comp}
    return sum(parts.values()), parts


LOSSES = {"paper": paper_loss, "official": official_loss}


# -- teacher labels (issue 17) ----------------------------------------------------------------------------
TEACHER_CONFIDENT = 0.1  # a teacher probability under 0.1 or over 0.9 counts as a confident label
TEACHER_SEMANTIC_WEIGHT = 10.0  # x 1/2 MSE: the semantic branch is what a segmentation teacher can teach
TEACHER_UNSURE_WEIGHT = 0.25  # matte L1 weight where the teacher is unsure (hair, edges)


def teacher_loss(pred_semantic, pred_detail, pred_matte, batch: dict[str, torch.Tensor]):
    """Loss against a segmentation teacher's soft mask ``batch["alpha"]`` (never exact ground truth):

    - semantic: 10 x 1/2 MSE(s_p, G(mask)), the paper's L_s against the teacher, weighted up;
    - matte: the mean L1(alpha_p, mask) over the teacher's confident pixels (mask < 0.1 or > 0.9) plus 0.25 x
      the mean L1 over the other pixels (region means, as the official loss weights its unknown band): the
      band keeps a fixed share, smaller than the confident region's, since a segmenter's soft edge is only a
      rough guess of a matte's;
    - no detail or compositional term: the teacher knows nothing of hair and there are no true colours.
    """
    mask = batch["alpha"]
    confident = ((mask < TEACHER_CONFIDENT) | (mask > 1 - TEACHER_CONFIDENT)).to(mask.dtype)
    semantic = TEACHER_SEMANTIC_WEIGHT * 0.5 * F.mse_loss(pred_semantic, thumbnail(mask))
    diff = (pred_matte - mask).abs()
    matte = masked_mean(diff, confident) + TEACHER_UNSURE_WEIGHT * masked_mean(diff, 1 - confident)
    parts = {"t_semantic": semantic, "t_matte": matte}
    return semantic + matte, parts


def mixed_loss(base, pred_semantic, pred_detail, pred_matte, batch: dict[str, torch.Tensor], **options):
    """A batch mixing exact ground truth (``batch["exact"]`` 1) and teacher labels (0): ``base`` (the paper
    or official loss) on the exact examples, :func:`teacher_loss` on the others, each weighted by its share
    of the batch so that the gradient scale does not depend on the mix."""
    exact = batch["exact"].reshape(-1) > 0.5
    n = exact.numel()
    total = pred_matte.new_zeros(())
    parts: dict[str, torch.Tensor] = {}
    for select, fn, kw in ((exact, base, options), (~exact, teacher_loss, {})):
        k = int(select.sum())
        if k == 0:
            continue
        sub = {key: v[select] for key, v in batch.items() if key != "exact"}
        t, p = fn(pred_semantic[select], pred_detail[select], pred_matte[select], sub, **kw)
        total = total + t * (k / n)
        parts.update({name: v * (k / n) for name, v in p.items()})
    return total, parts


# ----------------------------------------------------------------------------------------------------
# Sub-Objectives Consistency (SOC): self-supervised adaptation of a trained MODNet to unlabeled images
# (paper eq. 6-8).
#
# For an unlabeled image, ``s, d, a = M(I)`` and ``d0 = M0(I)`` with M0 a frozen copy of M taken before SOC:
#
#     L_cons = 1/2 ||G(a) - s||_2 + m_d ||a - d||_1      (eq. 7)
#     L_dd   = m_d ||d0 - d||_1                             (eq. 8)
#
# minimised together. Norm layers are frozen (eval mode, affine parameters fixed), as the paper says.
#
# The transition region m_d of ``a`` follows the released code: foreground = (a > 0.1) and (up16(s) > 0.1);
# m_d = pixels where a square dilation and erosion of it (side = 5 % of the mean of h and w) differ. Means over
# m_d are taken over its pixels, and an image without transition pixels contributes 0 (the released code
# divides by zero there and produces NaN).
# ----------------------------------------------------------------------------------------------------

def transition_region(matte: torch.Tensor, semantic: torch.Tensor) -> torch.Tensor:
    """Bx1xHxW binary mask of the boundary band of the predicted foreground (no gradient)."""
    with torch.no_grad():
        h, w = matte.shape[-2:]
        sem = F.interpolate((semantic > 0.1).float(), size=(h, w), mode="bilinear", align_corners=False)
        fg = (matte > 0.1).float() * sem
        side = max(1, int((h + w) / 2 * 0.05))
        pad = (side // 2, side - 1 - side // 2, side // 2, side - 1 - side // 2)
        dilated = F.max_pool2d(F.pad(fg, pad, value=0.0), side, stride=1)
        eroded = -F.max_pool2d(F.pad(-fg, pad, value=-1.0), side, stride=1)
        return (dilated != eroded).float()


def soc_loss(pred_semantic, pred_detail, pred_matte, frozen_detail, mask=None):
    """Eq. 7 + eq. 8 -> (total, parts). ``mask`` defaults to :func:`transition_region`."""
    m_d = transition_region(pred_matte, pred_semantic) if mask is None else mask
    semantic = 0.5 * F.mse_loss(thumbnail(pred_matte), pred_semantic)
    detail = masked_mean((pred_matte - pred_detail).abs(), m_d)
    keep = masked_mean((frozen_detail - pred_detail).abs(), m_d)
    parts = {"cons_semantic": semantic, "cons_detail": detail, "dd": keep}
    return semantic + detail + keep, parts


def trainable_after_freezing(model: MODNet) -> list[torch.nn.Parameter]:
    model.train()
    model.freeze_norm()
    return [p for p in model.parameters() if p.requires_grad]


def adapt(
    model: MODNet,
    images: Callable[[], Iterable[torch.Tensor]],
    steps: int,
    lr: float = 1e-5,
    out: Optional[str | os.PathLike[str]] = None,
    save: Optional[Callable[[Path], None]] = None,
    log_every: int = 10,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run ``steps`` SOC iterations over ``images()`` (an iterable of 1x3xHxW tensors in [-1, 1] on the model's
    device; called again for every pass). Adam, batch 1, lr 1e-5 as in the released code: the paper's 1e-4
    (batch unstated) diverged at batch 1 on synthetic-video (whole-image MSE 0.0136 -> 0.0528 after 40 steps,
    the L_dd term rising fivefold), where 1e-5 improved it (0.0136 -> 0.0123). Writes ``soc.csv`` and, through
    ``save``, ``soc.ckpt`` to ``out``. Returns the logged rows."""
    frozen = copy.deepcopy(model).eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(trainable_after_freezing(model), lr=lr, betas=(0.9, 0.99))
    out_dir = Path(out) if out else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    window: list[dict[str, float]] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=steps, unit="step", desc="SOC", dynamic_ncols=True)
    t0, step = time.perf_counter(), 0
    while step < steps:
        seen = 0
        for x in images():
            seen += 1
            s, d, a = model(x, False)
            with torch.no_grad():
                _, d0, _ = frozen(x, False)
            loss, parts = soc_loss(s, d, a, d0)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"SOC loss became {float(loss)} at step {step}; lower --lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            window.append({"loss": float(loss.detach()), **{k: float(v.detach()) for k, v in parts.items()}})
            if bar is not None:
                bar.update(1)
            if step % log_every == 0 or step == steps:
                row = {"step": step, **{k: float(np.mean([w[k] for w in window])) for k in window[0]}, "elapsed_s": round(time.perf_counter() - t0, 1)}
                rows.append(row)
                window = []
            if step >= steps:
                break
        if seen == 0:
            raise ValueError("SOC got no images to adapt on")
    if bar is not None:
        bar.close()
    model.eval()
    if out_dir:
        with open(out_dir / "soc.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        if save:
            save(out_dir / "soc.ckpt")
    return rows


# ----------------------------------------------------------------------------------------------------
# MODNet's SOC adaptation as a method call: ``adapt(source)`` runs :func:`mattebench_baselines.modnet.training.adapt` on the
# unlabeled images of a folder or video, preprocessed by the inference rule, and saves through the method's
# own ``save_checkpoint`` (so the adapted checkpoint keeps the variant and input rule).
# ----------------------------------------------------------------------------------------------------

class MODNetAdaptation:
    """The SOC part of :class:`~mattebench_baselines.modnet.method.MODNetMethod` (it sets these attributes)."""

    model: MODNet
    device: torch.device
    trimap_input: bool
    input_rule: InputRule
    ref_size: int
    save_checkpoint: Callable[..., None]

    def adapt(self, source: str | os.PathLike[str], steps: Optional[int] = None, lr: float = 1e-5, out: Optional[str | os.PathLike[str]] = None,
              ref_size: Optional[int] = None, progress: bool = True) -> list[dict[str, Any]]:
        """SOC (paper eq. 6-8) on the unlabeled images of ``source`` (an image folder or a video), batch 1, each
        image preprocessed by the inference rule. ``steps`` defaults to one pass. Writes soc.ckpt/soc.csv to ``out``."""
        from mattebench.data.frames import iter_frames

        pass  # (was an import from this module)

        if self.trimap_input:
            raise MattebenchError("SOC adapts trimap-free MODNet on unlabeled images; it is not defined for trimap_input=True")
        ref = int(ref_size or self.ref_size)

        def images() -> Iterator[torch.Tensor]:
            for _, image in iter_frames(source):
                yield prepare(image, ref, self.input_rule.multiple)[0].to(self.device)

        if steps is None:
            steps = sum(1 for _ in iter_frames(source))
        return adapt(self.model, images, int(steps), lr=lr, out=out, save=self.save_checkpoint, progress=progress)


# ----------------------------------------------------------------------------------------------------
# MODNet training: the step of :mod:`mattebench.methods.train` (paper eq. 2-5 or the released code's loss), its
# stage, the paper's optimiser and schedule, and checkpoints that record the variant and input rule.
# ----------------------------------------------------------------------------------------------------

class MODNetTraining:
    """The training part of :class:`~mattebench_baselines.modnet.method.MODNetMethod` (it sets these attributes)."""

    model: MODNet
    loss: str
    loss_options: dict[str, float]
    lambda_s: float
    lambda_d: float
    checkpoint_variant: str
    input_rule: InputRule
    trimap_input: bool
    # From the other parts: network_input (MODNetInference), _check_stage (TorchMattingMethod).

    train_stages = [("joint", 1.0)]
    # Paper, Sec. 'Experiments': SGD, momentum 0.9, lr 0.01, lr x 0.1 after every 10 of 40 epochs.
    default_optimizer = {"name": "sgd", "lr": 0.01, "momentum": 0.9}
    default_schedule = {"name": "step", "every": 0.25, "gamma": 0.1}

    def training_step(self, batch: dict[str, torch.Tensor], stage: str = "joint") -> tuple[torch.Tensor, dict[str, float]]:
        # Training trimaps are 0 / 0.5 / 1: network_input gives them the -1 / 0 / 1 code of encode_trimap.
        x = self.network_input(  # type: ignore[attr-defined]
            batch["image"], batch["trimap"] if self.trimap_input else None)
        pred_semantic, pred_detail, pred_matte = self.model(x, False)
        if "exact" in batch:  # some examples carry a teacher's mask, not ground truth (teacher-mix stream)
            total, parts = mixed_loss(LOSSES[self.loss], pred_semantic, pred_detail, pred_matte, batch, **self.loss_options)
        else:
            total, parts = LOSSES[self.loss](pred_semantic, pred_detail, pred_matte, batch, **self.loss_options)
        return total, {k: float(v.detach()) for k, v in parts.items()}

    def stage_parameters(self, stage: str) -> Iterable[nn.Parameter]:
        """One stage, "joint": the whole network trains (the three branches together, paper Sec. 3)."""
        self._check_stage(stage)  # type: ignore[attr-defined]
        return list(self.model.parameters())

    def save_checkpoint(self, path: str | os.PathLike[str], meta: Optional[dict[str, Any]] = None, half: bool = False) -> None:
        rule = {"input_rule": self.input_rule.stored()} if self.input_rule.source != "default" else {}  # SOC keeps it
        ckpt.save_weights(self.model, path, self.checkpoint_variant,
                          {"loss": self.loss, "lambda_s": self.lambda_s, "lambda_d": self.lambda_d, **rule, **(meta or {})}, half=half)
