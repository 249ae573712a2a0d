"""A real segmentation network as a teacher: soft person masks for unlabeled photographs.

The MediaPipe selfie segmenter (``selfie_segmentation.tflite``, Apache-2.0, from
https://developers.google.com/mediapipe; never shipped with mattebench: the user gives its path) takes 1x256x256x3 float32 RGB in [0, 1] and returns a 1x256x256x1 sigmoid mask. The
photo is squashed to 256x256 (area), the mask resized back bilinearly: what the teacher was trained for, and
what scored whole-image MSE 0.011 on the PPM-100 dev photos (issue 17).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from mattebench.errors import MattebenchError

SELFIE_INPUT = 256


class SelfieTeacher:
    """``mask(image uint8 HxWx3) -> float32 HxW in [0, 1]`` from the MediaPipe selfie segmenter."""

    name = "mediapipe-selfie-segmentation"

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        if not self.path.is_file():
            raise MattebenchError(f"teacher model {self.path} not found: give the path of selfie_segmentation.tflite "
                                  f"(npm @mediapipe/selfie_segmentation, Apache-2.0)")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # optional extra
            raise MattebenchError("the selfie teacher needs ai-edge-litert: pip install ai-edge-litert") from exc
        self._interp = Interpreter(model_path=str(self.path), num_threads=1)
        self._interp.allocate_tensors()
        self._in = self._interp.get_input_details()[0]["index"]
        self._out = self._interp.get_output_details()[0]["index"]

    def mask(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        x = cv2.resize(np.ascontiguousarray(image[..., :3]), (SELFIE_INPUT, SELFIE_INPUT), interpolation=cv2.INTER_AREA)
        self._interp.set_tensor(self._in, (x.astype(np.float32) / 255.0)[None])
        self._interp.invoke()
        m = np.asarray(self._interp.get_tensor(self._out))[0, :, :, 0].astype(np.float32)
        return np.clip(cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
