"""MODNet's SOC adaptation as a method call: ``adapt(source)`` runs :func:`mattebench_baselines.modnet.soc.adapt` on the
unlabeled images of a folder or video, preprocessed by the inference rule, and saves through the method's
own ``save_checkpoint`` (so the adapted checkpoint keeps the variant and input rule)."""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator, Optional

import torch

from mattebench.errors import MattebenchError

from .input_rule import InputRule
from .model import MODNet
from .preprocess import prepare


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
        from mattebench.video.frames import iter_frames

        from .soc import adapt

        if self.trimap_input:
            raise MattebenchError("SOC adapts trimap-free MODNet on unlabeled images; it is not defined for trimap_input=True")
        ref = int(ref_size or self.ref_size)

        def images() -> Iterator[torch.Tensor]:
            for _, image in iter_frames(source):
                yield prepare(image, ref, self.input_rule.multiple)[0].to(self.device)

        if steps is None:
            steps = sum(1 for _ in iter_frames(source))
        return adapt(self.model, images, int(steps), lr=lr, out=out, save=self.save_checkpoint, progress=progress)
