"""MODNet's training losses, in the paper's form (eq. 2-5) and in the official code's form.

Both take the model outputs (s_p at 1/16, d_p and alpha_p at full size, all after the sigmoid) and a
training batch (``image``, ``alpha``, ``trimap`` in {0, 0.5, 1}, ``fg``, ``bg``; all in [0, 1]) and return
``(total, parts)`` with the weighted parts that sum to the total.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter

from mattebench.train.losses import alpha_l1, compositional_l1, masked_mean, unknown_mask

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
