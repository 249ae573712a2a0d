"""Presets (``-m preset=NAME``): the published pre- and post-processing of known exported models.

Each cites where its rule comes from; explicit ``-m`` options override a preset's values.
"""

from __future__ import annotations

from dataclasses import dataclass

from mattebench_baselines.exported.io_spec import IOSpec, ModelSpecError

SEGMENTATION_NOTE = (
    "A segmentation model used as a trimap-free matting baseline (a portrait soft mask, no fine hair): it is what many "
    "users pick instead of a matting network, so it is scored like one."
)


@dataclass(frozen=True)
class Preset:
    name: str
    spec: IOSpec
    source: str  # where the rule comes from
    paper: str = ""
    url: str = ""
    licence: str = "unknown"
    note: str = ""
    input_name: str = ""  # the expected input tensor's name ("" = the only input)


PRESETS: dict[str, Preset] = {
    # ZHKKKe/MODNet onnx/inference_onnx.py: RGB, (x - 127.5) / 127.5, get_scale_factor() with ref_size 512 and
    # multiples of 32, cv2.INTER_AREA in and out; onnx/export_onnx.py names the tensors input / output.
    "modnet": Preset(
        "modnet",
        IOSpec(ref_size=512, multiple=32, resize="area", resize_out="area", resize_stage="float", channels="rgb", scale=1.0 / 255.0,
               mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), output="output", channel=0, activation="none"),
        "ZHKKKe/MODNet onnx/inference_onnx.py (x in [-1, 1], reference size 512, multiples of 32, INTER_AREA)",
        paper="Ke et al., MODNet: Real-Time Trimap-Free Portrait Matting via Objective Decomposition, AAAI 2022",
        url="https://github.com/ZHKKKe/MODNet", licence="Apache-2.0 (official code and weights)", input_name="input",
    ),
    # MediaPipe selfie segmentation (general model card): 256x256 RGB float in [0, 1]; one channel, already
    # sigmoid-activated; MediaPipe's ImageToTensor downscales with antialiasing, the mask is upsampled bilinearly.
    "mediapipe-selfie": Preset(
        "mediapipe-selfie",
        IOSpec(size=(256, 256), resize="antialias", resize_stage="float", resize_out="bilinear", channels="rgb", scale=1.0 / 255.0,
               channel=0, activation="none"),
        "MediaPipe selfie segmentation model card (256x256x3 float in [0, 1], 256x256x1 sigmoid output)",
        paper="Google MediaPipe Selfie Segmentation (model card, 2021)",
        url="https://www.npmjs.com/package/@mediapipe/selfie_segmentation",
        licence="Apache-2.0", note=SEGMENTATION_NOTE + " Get the file with `npm pack @mediapipe/selfie_segmentation`.",
    ),
    "mediapipe-selfie-landscape": Preset(
        "mediapipe-selfie-landscape",
        IOSpec(size=(144, 256), resize="antialias", resize_stage="float", resize_out="bilinear", channels="rgb", scale=1.0 / 255.0,
               channel=0, activation="none"),
        "MediaPipe selfie segmentation (landscape) model card (144x256x3 float in [0, 1], one sigmoid channel)",
        paper="Google MediaPipe Selfie Segmentation (model card, 2021)",
        url="https://www.npmjs.com/package/@mediapipe/selfie_segmentation",
        licence="Apache-2.0", note=SEGMENTATION_NOTE + " Get the file with `npm pack @mediapipe/selfie_segmentation`.",
    ),
    # anilsathyan7/Portrait-Segmentation SINet/sinet_video.py: the BGR frame resized to 320x320 (cv2 default,
    # bilinear), then (x - mean) / std on 0..255 values, THEN /255 (that file's order), NCHW; two classes,
    # class 1 = person. SINet.onnx gives logits (softmax here); SINet_Softmax.onnx is already normalised.
    "sinet": Preset(
        "sinet",
        IOSpec(size=(320, 320), resize="bilinear", resize_out="bilinear", channels="bgr", scale=1.0 / 255.0,
               mean=(102.890434, 111.25247, 126.91212), std=(62.93292, 62.82138, 66.355705), norm_order="meanstd-first",
               channel=1, activation="softmax"),
        "anilsathyan7/Portrait-Segmentation SINet/sinet_video.py (BGR, (x-mean)/std then /255, class 1)",
        paper="Park et al., SINet: Extreme Lightweight Portrait Segmentation Networks, WACV 2020 (retrained by anilsathyan7)",
        url="https://github.com/anilsathyan7/Portrait-Segmentation", licence="MIT", note=SEGMENTATION_NOTE, input_name="data",
    ),
    "sinet-softmax": Preset(
        "sinet-softmax",
        IOSpec(size=(320, 320), resize="bilinear", resize_out="bilinear", channels="bgr", scale=1.0 / 255.0,
               mean=(102.890434, 111.25247, 126.91212), std=(62.93292, 62.82138, 66.355705), norm_order="meanstd-first",
               channel=1, activation="none"),
        "anilsathyan7/Portrait-Segmentation SINet/sinet_video.py (BGR, (x-mean)/std then /255; output already softmax)",
        paper="Park et al., SINet: Extreme Lightweight Portrait Segmentation Networks, WACV 2020 (retrained by anilsathyan7)",
        url="https://github.com/anilsathyan7/Portrait-Segmentation", licence="MIT", note=SEGMENTATION_NOTE, input_name="data",
    ),
    # deepstream_multiseg/deeplab_config.txt: net-scale-factor 1/255, model-color-format 0 (RGB), no offsets,
    # 2 classes (logits; class 1 = person), 513x513 NCHW.
    "deeplab-portrait": Preset(
        "deeplab-portrait",
        IOSpec(size=(513, 513), resize="bilinear", resize_out="bilinear", channels="rgb", scale=1.0 / 255.0,
               channel=1, activation="softmax"),
        "anilsathyan7/Portrait-Segmentation deepstream_multiseg/deeplab_config.txt (RGB x/255, 2 classes)",
        paper="DeepLabv3 MobileNetV2 portrait segmentation (anilsathyan7)",
        url="https://github.com/anilsathyan7/Portrait-Segmentation", licence="MIT", note=SEGMENTATION_NOTE,
    ),
    # deepstream_multiseg/prisma_config.txt: net-scale-factor 1/255, RGB, one class with threshold 0.5 (the
    # output is already a sigmoid probability), 256x256 NCHW.
    "prisma-portrait": Preset(
        "prisma-portrait",
        IOSpec(size=(256, 256), resize="bilinear", resize_out="bilinear", channels="rgb", scale=1.0 / 255.0,
               channel=0, activation="none"),
        "anilsathyan7/Portrait-Segmentation deepstream_multiseg/prisma_config.txt (RGB x/255, one sigmoid channel)",
        paper="prisma-net portrait segmentation (anilsathyan7)",
        url="https://github.com/anilsathyan7/Portrait-Segmentation", licence="MIT", note=SEGMENTATION_NOTE,
    ),
}


# RobustVideoMatting (onnx branch export_onnx.py, documentation/inference.md): a recurrent model, run by
# mattebench_baselines.exported.recurrent, not by the IOSpec path (the spec here is unused).
PRESETS["rvm"] = Preset(
    "rvm", IOSpec(), "PeterL1n/RobustVideoMatting documentation/inference.md (src + 4 recurrent states + downsample_ratio)",
    paper="Lin et al. Robust High-Resolution Video Matting with Temporal Guidance. WACV 2022",
    url="https://github.com/PeterL1n/RobustVideoMatting", licence="GPL-3.0 (official code and weights)",
    note="Recurrent: the state is carried within a clip and reset between clips.",
)


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ModelSpecError(f"-m preset={name!r}: unknown preset; known: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]
