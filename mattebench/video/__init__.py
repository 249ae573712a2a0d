"""Video helpers: One-Frame-Delay flicker removal (:mod:`.ofd`) and frame reading (:mod:`.frames`)."""

from .ofd import CLOSE, FAR, OneFrameDelay, ofd_frame, one_frame_delay

__all__ = ["OneFrameDelay", "ofd_frame", "one_frame_delay", "CLOSE", "FAR"]
