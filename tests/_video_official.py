"""TEST ORACLES ONLY: slow literal transcriptions of the official scripts' arithmetic (written from
reading them, not copied), used to compute expected values independently of mattebench.metrics.conventions.video_rvm and .tcvom.

- RVM evaluate_lr.py @53d74c6 classes MetricMAD/MSE/GRAD/CONN/DTSSD (L146-249), numpy float32.
  numpy >= 2 no longer compares a float32 array with a float64 scalar in float32 (numpy < 1.24, which the
  script needs for ``np.int``, did): the thresholds are cast to float32 here to keep the old arithmetic.
- RVM evaluate_hr.py MetricGRAD (kornia filter2D = replicate pad + conv2d correlation), torch float32, CPU.
- TCVOM calc_metric.py @f5fa07a (SAD/MSE/SSDA/dtSSD L22-34) and utils/utils.py (coords_grid,
  grid_sampler, flow_dt L70-125), torch float32.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def lr_mad(pred, true):
    return np.abs(pred - true).mean() * 1e3


def lr_mse(pred, true):
    return ((pred - true) ** 2).mean() * 1e3


def _gaussian(x, sigma):
    return np.exp(-x ** 2 / (2 * sigma ** 2)) / (sigma * np.sqrt(2 * np.pi))


def gauss_filter(sigma=1.4, epsilon=1e-2):
    half_size = np.ceil(sigma * np.sqrt(-2 * np.log(np.sqrt(2 * np.pi) * sigma * epsilon)))
    size = int(2 * half_size + 1)
    fx = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            x = j - half_size
            fx[i, j] = _gaussian(i - half_size, sigma) * (-x * _gaussian(x, sigma) / sigma ** 2)
    fx = fx / np.sqrt((fx ** 2).sum())
    return fx, np.transpose(fx)


def lr_grad(pred, true):
    fx, fy = gauss_filter()
    pn, tn = np.zeros_like(pred), np.zeros_like(true)
    cv2.normalize(pred, pn, 1., 0., cv2.NORM_MINMAX)
    cv2.normalize(true, tn, 1., 0., cv2.NORM_MINMAX)

    def gg(img):
        gx = cv2.filter2D(img, -1, fx, borderType=cv2.BORDER_REPLICATE)
        gy = cv2.filter2D(img, -1, fy, borderType=cv2.BORDER_REPLICATE)
        return np.sqrt(gx ** 2 + gy ** 2)
    tg, pg = gg(tn).astype(np.float32), gg(pn).astype(np.float32)
    return ((tg - pg) ** 2).sum() / 1000


def lr_conn(pred, true):
    steps = np.arange(0, 1 + 0.1, 0.1)
    rdm = -np.ones_like(true)
    for i in range(1, len(steps)):
        th = np.float32(steps[i])  # numpy < 1.24 compared in float32
        inter = ((true >= th) & (pred >= th)).astype(np.uint8)
        _, output, stats, _ = cv2.connectedComponentsWithStats(inter, connectivity=4)
        size = stats[1:, -1]
        omega = np.zeros_like(true)
        if len(size) != 0:
            omega[output == np.argmax(size) + 1] = 1
        rdm[(rdm == -1) & (omega == 0)] = steps[i - 1]
    rdm[rdm == -1] = 1
    td, pd = true - rdm, pred - rdm
    tp = 1 - td * (td >= 0.15)
    pp = 1 - pd * (pd >= 0.15)
    return np.sum(np.abs(tp - pp)) / 1000


def lr_dtssd(p, pm1, t, tm1):
    d = ((p - pm1) - (t - tm1)) ** 2
    return np.sqrt(np.sum(d) / t.size) * 1e2


def lr_clip(preds_u8, gts_u8, pfg_u8=None, gfg_u8=None):
    """evaluate_worker of evaluate_lr.py on in-memory frames: {key: per-frame list}."""
    out = {k: [] for k in ("pha_mad", "pha_mse", "pha_grad", "pha_conn", "pha_dtssd", "fgr_mad", "fgr_mse")}
    pm1 = tm1 = None
    for i, (pu, gu) in enumerate(zip(preds_u8, gts_u8)):
        t, p = gu.astype(np.float32) / 255, pu.astype(np.float32) / 255
        out["pha_mad"].append(lr_mad(p, t))
        out["pha_mse"].append(lr_mse(p, t))
        out["pha_grad"].append(lr_grad(p, t))
        out["pha_conn"].append(lr_conn(p, t))
        out["pha_dtssd"].append(0 if i == 0 else lr_dtssd(p, pm1, t, tm1))
        pm1, tm1 = p, t
        if pfg_u8 is not None:
            tf, pf = gfg_u8[i].astype(np.float32) / 255, pfg_u8[i].astype(np.float32) / 255
            m = t > 0
            out["fgr_mse"].append(lr_mse(pf[m], tf[m]))
            out["fgr_mad"].append(lr_mad(pf[m], tf[m]))
    return out


def hr_grad(pred_u8, true_u8):
    """evaluate_hr.py MetricGRAD on the CPU: no stretch; kornia filter2D = replicate pad + conv2d."""
    fx, fy = gauss_filter()

    def gg(img):
        x = img[None, None]
        outs = []
        for k in (fx, fy):
            kt = torch.from_numpy(k).to(x)[None, None]
            outs.append(F.conv2d(F.pad(x, (4, 4, 4, 4), mode="replicate"), kt)[0, 0])
        return (outs[0] ** 2 + outs[1] ** 2).sqrt()
    t = torch.from_numpy(true_u8).float().div_(255)
    p = torch.from_numpy(pred_u8).float().div_(255)
    return float(((gg(t) - gg(p)) ** 2).sum() / 1000)


def _coords_grid(b, h, w):
    c = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return torch.stack(c[::-1], dim=0).unsqueeze(0).repeat(b, 1, 1, 1)


def _grid_sampler(img, coords):
    h, w = img.shape[-2:]
    xg, yg = coords.split(1, dim=1)
    grid = torch.cat([2 * xg / (w - 1) - 1, 2 * yg / (h - 1) - 1], dim=1).permute(0, 2, 3, 1)
    return F.grid_sample(img, grid, mode="bilinear", align_corners=True)


def tcvom_messddt(a, g, m, ha, hg, flow_hw2):
    """calc_metric.MESSDdt -> utils.flow_dt(metric=True, cuda=False): (fix, org)."""
    a, g, ha, hg = (torch.from_numpy(x)[None, None] for x in (a, g, ha, hg))
    flow = torch.from_numpy(flow_hw2.copy()).permute(2, 0, 1).unsqueeze(0)
    m = torch.from_numpy(m)[None, None]
    nanm = torch.isnan(flow)
    coords = _coords_grid(1, a.shape[2], a.shape[3])
    flow[nanm] = 0
    fc = coords + flow
    mask = (~nanm[:, :1]) * m.bool()
    if mask.sum() == 0:
        return 0.0, 0.0
    pg, pa = _grid_sampler(hg, fc), _grid_sampler(ha, fc)
    fix = torch.abs((a[mask] - g[mask]) - (pa[mask] - pg[mask])).sum()
    org = torch.abs((a[mask] - g[mask]) ** 2 - (pa[mask] - pg[mask]) ** 2).sum()
    return float(fix), float(org)


def tcvom_frame(alpha, gt, tri, nxt=None, flow=None):
    a, g = np.float32(alpha / 255.0), np.float32(gt / 255.0)
    m = (tri > 0) * (tri < 255)
    with np.errstate(invalid="ignore", divide="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = {"mSAD": float(np.mean(np.abs(a[m] - g[m]))), "MSE": float(np.mean((a[m] - g[m]) ** 2))}
    r["SSDA"] = float(np.sqrt(np.sum((a[m] - g[m]) ** 2)))
    r["dtSSD"] = r["MESSDdt"] = r["MESSDdt_fix"] = 0
    if nxt is not None:
        ha, hg = np.float32(nxt[0] / 255.0), np.float32(nxt[1] / 255.0)
        r["dtSSD"] = float(np.sqrt(np.sum(((a - ha)[m] - (g - hg)[m]) ** 2)))
        r["MESSDdt_fix"], r["MESSDdt"] = tcvom_messddt(a, g, m, ha, hg, flow)
    return r
