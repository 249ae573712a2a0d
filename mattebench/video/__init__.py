"""Video helpers: One-Frame-Delay flicker removal (:mod:`.ofd`), frame reading (:mod:`.frames`) and streaming
frames through a method (:mod:`.stream`)."""

from .ofd import CLOSE, FAR, OneFrameDelay, ofd_frame, one_frame_delay

__all__ = ["OneFrameDelay", "ofd_frame", "one_frame_delay", "CLOSE", "FAR"]
