"""One-Frame Delay (OFD), MODNet paper, Sec. 'Results on Real-World Data'.

Pixel i of alpha_t is a flicker when alpha_{t-1}^i and alpha_{t+1}^i are close and alpha_t^i differs from
both; it is then replaced by their mean. The first and last frames have one neighbour only and pass
through unchanged. A stream lags one frame (frame t comes out once frame t+1 is in).

Thresholds (the paper gives none), on alpha in [0, 1]:
- ``CLOSE = 0.1``: the neighbours agree when |alpha_{t-1} - alpha_{t+1}| <= 0.1 (about 25/255; the
  jitter of a stable matte between frames is well below it);
- ``FAR = 0.2``: alpha_t is a flicker when it differs from each neighbour by more than 0.2 (about
  51/255), twice CLOSE so that a pixel is only changed when the jump is clearly larger than the
  disagreement of its neighbours. Smaller jumps are left alone: they are not visible flicker.
True motion is kept: where something moves, the two neighbours differ (entering on one side, leaving
on the other), so the pixel is not a flicker. Known limit (inherent to OFD): a structure thinner than
its motion per frame appears at a pixel for one frame only and is removed as if it were a flicker.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

import numpy as np

CLOSE = 0.1
FAR = 0.2


def ofd_frame(prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray, close: float = CLOSE, far: float = FAR) -> np.ndarray:
    """alpha_t with its flickering pixels replaced by the mean of alpha_{t-1} and alpha_{t+1}."""
    prev, cur, nxt = (np.asarray(a, np.float32) for a in (prev, cur, nxt))
    flicker = (np.abs(prev - nxt) <= close) & (np.abs(cur - prev) > far) & (np.abs(cur - nxt) > far)
    out = cur.copy()
    out[flicker] = 0.5 * (prev[flicker] + nxt[flicker])
    return out


class OneFrameDelay:
    """Streaming OFD: ``push(alpha_t)`` returns the fixed alpha_{t-1} (None for the first frame);
    ``flush()`` returns the last frame at the end of the stream."""

    def __init__(self, close: float = CLOSE, far: float = FAR):
        self.close, self.far = close, far
        self._prev: Optional[np.ndarray] = None  # the raw alpha_{t-2}
        self._cur: Optional[np.ndarray] = None  # the raw alpha_{t-1}, waiting for its successor

    def push(self, alpha: np.ndarray) -> Optional[np.ndarray]:
        alpha = np.asarray(alpha, np.float32)
        if self._cur is None:
            self._cur = alpha
            return None
        if self._prev is None:
            out = self._cur  # the first frame has no predecessor
        else:
            out = ofd_frame(self._prev, self._cur, alpha, self.close, self.far)
        self._prev, self._cur = self._cur, alpha
        return out

    def flush(self) -> Optional[np.ndarray]:
        out, self._prev, self._cur = self._cur, None, None
        return out


def one_frame_delay(alphas: Iterable[np.ndarray], close: float = CLOSE, far: float = FAR) -> Iterator[np.ndarray]:
    """OFD over a whole sequence, frame for frame (the neighbours are always the raw predictions)."""
    ofd = OneFrameDelay(close, far)
    for a in alphas:
        out = ofd.push(a)
        if out is not None:
            yield out
    last = ofd.flush()
    if last is not None:
        yield last
