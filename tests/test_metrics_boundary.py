"""Boundary metrics against literal transcriptions of boundary-iou-api (mask_to_boundary + IoU) and
BiRefNet (cal_biou with _prepare_data, MBAMeasure), an independent scipy band, and hand-checked masks.
Tolerances: exact (integer counts) or rtol 1e-12."""

import math

import cv2
import numpy as np
import pytest
from scipy import ndimage

from mattebench.metrics.boundary import band_width, binarize, biou_curve, biou_summary, boundary_iou, inner_band, mba


# --- boundary-iou-api @ 8006aa9 boundary_utils.mask_to_boundary, literally ---
def ref_mask_to_boundary(mask, dilation_ratio=0.02):
    h, w = mask.shape
    img_diag = np.sqrt(h ** 2 + w ** 2)
    dilation = int(round(dilation_ratio * img_diag))
    if dilation < 1:
        dilation = 1
    new_mask = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    kernel = np.ones((3, 3), dtype=np.uint8)
    new_mask_erode = cv2.erode(new_mask, kernel, iterations=dilation)
    mask_erode = new_mask_erode[1: h + 1, 1: w + 1]
    return mask - mask_erode


def ref_iou(a, b):  # pycocotools iou of two non-crowd masks: |a n b| / |a u b|
    return np.logical_and(a, b).sum() / np.logical_or(a, b).sum()


# --- BiRefNet @ 25cb930 evaluation/metrics.py, literally ---
def ref_prepare_data(pred, gt):
    gt = gt > 128
    pred = pred / 255
    if pred.max() != pred.min():
        pred = (pred - pred.min()) / (pred.max() - pred.min())
    return pred, gt


def ref_cal_biou(pred, gt):
    pred, gt = ref_prepare_data(pred, gt)
    pred = (pred * 255).astype(np.uint8)
    pred = ref_mask_to_boundary(pred)
    gt = (gt * 255).astype(np.uint8)
    gt = ref_mask_to_boundary(gt)
    gt = gt > 128
    bins = np.linspace(0, 256, 257)
    fg_hist, _ = np.histogram(pred[gt], bins=bins)
    bg_hist, _ = np.histogram(pred[~gt], bins=bins)
    fg_w_thrs = np.cumsum(np.flip(fg_hist), axis=0)
    bg_w_thrs = np.cumsum(np.flip(bg_hist), axis=0)
    T = max(np.count_nonzero(gt), 1)
    return fg_w_thrs / (T + bg_w_thrs)


def ref_cal_ba(pred, gt):
    pred, gt = (pred > 128).astype(np.uint8), (gt > 128).astype(np.uint8)
    h, w = gt.shape
    min_radius, max_radius, num_steps = 1, (w + h) / 300, 5
    pred_acc = [None] * num_steps
    for i in range(num_steps):
        curr_radius = min_radius + int((max_radius - min_radius) / num_steps * i)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (curr_radius * 2 + 1, curr_radius * 2 + 1))
        boundary_region = cv2.morphologyEx(gt, cv2.MORPH_GRADIENT, kernel) > 0
        gt_in_bound, pred_in_bound = gt[boundary_region], pred[boundary_region]
        num_edge_pixels = boundary_region.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            num_pred_gd_pix = (gt_in_bound * pred_in_bound + (1 - gt_in_bound) * (1 - pred_in_bound)).sum()
            pred_acc[i] = num_pred_gd_pix / num_edge_pixels
    return sum(pred_acc) / num_steps


def _blob(h, w, cy, cx, r, soft=3.0):
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.clip((r - np.hypot(yy - cy, xx - cx)) / soft + 0.5, 0, 1)
    return np.round(a * 255).astype(np.uint8)


def test_band_width_examples():
    assert band_width(120, 160) == 4 and band_width(480, 640) == 16 and band_width(10, 10) == 1


@pytest.mark.parametrize("shift", [0, 2, 5])
def test_boundary_iou_matches_reference(shift):
    gt = _blob(90, 130, 45, 60, 30)
    pred = _blob(90, 130, 45 + shift, 60 - shift, 28)
    r = boundary_iou(pred, gt)
    gm, pm = (gt > 128).astype(np.uint8), (pred > 128).astype(np.uint8)
    assert r.biou == pytest.approx(ref_iou(ref_mask_to_boundary(pm), ref_mask_to_boundary(gm)), rel=1e-12)
    assert r.mask_iou == pytest.approx(ref_iou(pm, gm), rel=1e-12)
    assert r.d == 3


def test_band_matches_scipy_chessboard_erosion():
    m = (_blob(60, 70, 20, 65, 25) > 128).astype(np.uint8)  # cut by the right border
    d = band_width(60, 70)
    padded = np.pad(m, 1).astype(bool)
    eroded = ndimage.binary_erosion(padded, structure=np.ones((3, 3)), iterations=d, border_value=0)[1:-1, 1:-1]
    assert np.array_equal(inner_band(m, d).astype(bool), m.astype(bool) & ~eroded)


def test_hand_checked_shifted_square():
    # 20x20: d = round(0.02 * 28.28) = 1. 5x5 squares, the prediction one column to the right.
    # Bands: two 16-pixel rings; they share rows 5 and 9 at columns 6..9 (8 pixels): 8 / 24.
    gt = np.zeros((20, 20), np.uint8); gt[5:10, 5:10] = 255
    pred = np.zeros((20, 20), np.uint8); pred[5:10, 6:11] = 255
    r = boundary_iou(pred, gt)
    assert (r.d, r.n_gt_band, r.n_pred_band) == (1, 16, 16)
    assert r.biou == pytest.approx(1 / 3, abs=1e-15) and r.mask_iou == pytest.approx(20 / 30, abs=1e-15)
    assert r.coco_value == r.biou


def test_binarisation_threshold_and_edge_cases():
    assert binarize(np.array([[128, 129]], np.uint8)).tolist() == [[0, 1]]
    assert binarize(np.array([[128 / 255, 129 / 255]])).tolist() == [[0, 1]]
    full = np.full((8, 8), 255, np.uint8)
    assert boundary_iou(full, full).biou == 1.0  # the image border makes a band
    assert math.isnan(boundary_iou(np.zeros((8, 8)), np.zeros((8, 8))).biou)


@pytest.mark.parametrize("shift", [0, 3])
def test_biou_curve_matches_birefnet(shift):
    gt = _blob(120, 160, 60, 80, 35)
    pred = _blob(120, 160, 60 + shift, 80, 33, soft=6.0)
    curve = biou_curve(pred, gt)
    assert curve.shape == (256,)
    np.testing.assert_allclose(curve, ref_cal_biou(pred, gt), rtol=1e-12, atol=0)
    mx, mean = biou_summary([curve, ref_cal_biou(gt, gt)])
    ref_mean = (ref_cal_biou(pred, gt) + ref_cal_biou(gt, gt)) / 2
    assert (mx, mean) == pytest.approx((ref_mean.max(), ref_mean.mean()), rel=1e-12)


def test_mba_matches_birefnet_and_nan_without_boundary():
    gt = _blob(150, 200, 70, 90, 40)
    pred = _blob(150, 200, 72, 93, 38)
    assert mba(pred, gt) == pytest.approx(ref_cal_ba(pred, gt), rel=1e-12)
    big = _blob(400, 500, 200, 250, 120)  # r_max = 3: radii 1, 1, 1, 1, 1 + int(0.4 * 4)=2
    assert mba(big, big) == 1.0
    assert math.isnan(mba(pred, np.zeros_like(gt)))


def test_bad_input():
    with pytest.raises(ValueError, match="ratio"):
        boundary_iou(np.zeros((4, 4)), np.zeros((4, 4)), ratio=0)
    with pytest.raises(ValueError, match="256"):
        biou_summary([np.zeros(10)])
    with pytest.raises(ValueError, match="size|shape"):
        mba(np.zeros((4, 4)), np.zeros((4, 5)))
