"""MODNet training: the step of :mod:`mattebench.train` (paper eq. 2-5 or the released code's loss), its
stage, the paper's optimiser and schedule, and checkpoints that record the variant and input rule."""

from __future__ import annotations

import os
from typing import Any, Iterable, Optional

import torch
from torch import nn

from . import checkpoint as ckpt
from .input_rule import InputRule
from .losses import LOSSES, mixed_loss
from .model import MODNet


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
