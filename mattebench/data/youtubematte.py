"""YouTubeMatte (MatAnyone, CVPR 2025): ``youtubematte-512x288`` and ``youtubematte-1920x1080``.

Layout (pq-yang/MatAnyone@e5ddc53 ``evaluation/eval_yt_lr.py`` L12-20, L115; ``eval_yt_hr.py`` L115;
``infer_batch_lr.sh`` L18)::

    YouTubeMatte/youtubematte_512x288/      (the data root, its parent, or the YouTubeMatte folder)
      youtubematte_motion/0000/har/0000.png   the harmonized composite: what a method sees
                               pha/0000.png   ground-truth alpha (1920x1080: pha/0000.jpg)
      youtubematte_static/...

``fgr/`` and ``bgr/`` are read when present (not confirmed by the sources). The first-frame masks
(``YouTubeMatte_first_frame_seg_mask``) are for MatAnyone-style methods, not for the metrics, and are not
read. The official protocol is ``matanyone-lr`` / ``matanyone-hr`` (no foreground metric).
"""

from __future__ import annotations

from mattebench.data.video_layouts import YOUTUBEMATTE_512x288, YOUTUBEMATTE_1920x1080
from mattebench.data.videomatte import LayoutVideoDataset
from mattebench.types import DatasetCard

_LICENCE = "no data licence stated (code: NTU S-Lab License 1.0, non-commercial): research use only, do not redistribute"
_URL = "https://github.com/pq-yang/MatAnyone (README: YouTubeMatte, Google Drive YouTubeMatte.zip)"
_PAPER = "Yang et al. MatAnyone: Stable Video Matting with Consistent Memory Propagation. CVPR 2025"
_LAYOUT = ("YouTubeMatte/{name}/<subset>/<clip>/har/<frame>.png   harmonized composite (the input)\n"
           "YouTubeMatte/{name}/<subset>/<clip>/pha/<frame>.{ext}   ground-truth alpha\n"
           "subsets youtubematte_motion, youtubematte_static; clips 0000..")
_NOTES = ("32 YouTube foregrounds composited with harmonization. Official protocol: {proto} (MatAnyone "
          "evaluation/{script}, RVM's formulas), whole frame, mean per clip then over clips; mattebench's whole/unknown "
          "metrics beside it (trimaps generated from the GT; MESSDdt with estimated flow).")


class YouTubeMatte512(LayoutVideoDataset):
    layout = YOUTUBEMATTE_512x288
    parents = ("YouTubeMatte",)
    card = DatasetCard(
        name="youtubematte-512x288", kind="video", protocols=("whole", "unknown", "matanyone-lr"), primary_metric="mad@matanyone-lr",
        paper=_PAPER, url=_URL, licence=_LICENCE, layout=_LAYOUT.format(name="youtubematte_512x288", ext="png"),
        notes=_NOTES.format(proto="matanyone-lr", script="eval_yt_lr.py"),
    )


class YouTubeMatte1080(LayoutVideoDataset):
    layout = YOUTUBEMATTE_1920x1080
    parents = ("YouTubeMatte",)
    card = DatasetCard(
        name="youtubematte-1920x1080", kind="video", protocols=("whole", "unknown", "matanyone-hr"), primary_metric="mad@matanyone-hr",
        paper=_PAPER, url=_URL, licence=_LICENCE, layout=_LAYOUT.format(name="youtubematte_1920x1080", ext="jpg"),
        notes=_NOTES.format(proto="matanyone-hr", script="eval_yt_hr.py") + " JPEG ground truth (lossy).",
    )
