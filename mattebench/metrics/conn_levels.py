"""The connectivity error with the reference's values, from one pass over the threshold hierarchy.

Used by :func:`mattebench.metrics.fast.conn` and ``unknown_metrics`` (issue 23: Conn was 28 of the 38 ms of
the four unknown-region metrics at 1920x1080, ten full labellings of nested threshold sets). Definition
(DIM MATLAB ``compute_connectivity_error``, as /work/shared/facts/metrics.md and the readable
:func:`mattebench.metrics.definitions.ref_conn`)::

    p = pred/255, t = gt/255 in float32; th = 0, 0.1, ..., 1 in float32
    for i = 1..10: omega_i = largest 4-connected component of M_i = (p >= th_i) & (t >= th_i)
                   (ties: first pixel in column-major order; empty M_i: empty omega_i)
                   l[(l == -1) & ~omega_i] = th_{i-1}
    l[l == -1] = 1; phi_x = 1 - d_x (d_x >= 0.15), d_x = x - l
    Conn = sum over trimap == 128 of |phi_p - phi_t| / 1000

How it is computed here
-----------------------
* M_i = {Q >= i} with Q = the number of thresholds min(p, t) passes (0..10): one level image.
* A pixel's l depends only on s = the number of consecutive levels 1..s whose omega holds it.
  omega_i is connected inside M_i, which is inside M_{i-1}, so it lies in one component of
  M_{i-1}: either inside omega_{i-1} or disjoint from it. Hence while omega_1 ⊇ omega_2 ⊇ ... holds,
  s(x) = the deepest i with x in omega_i; at the first level where the chain breaks (or M_i is
  empty) every pixel's s is final.
* Each level is labelled on blocks of 16x16 pixels: a block inside M_i is one node of B*B pixels
  (its pixels are 4-connected), an empty block is skipped, and only the blocks that straddle M_i's
  boundary are labelled pixel by pixel (one OpenCV call on the stacked tiles). Nodes that touch
  across block seams are joined (:func:`_join`, union by minimum label), sizes are summed, and the largest
  wins; a tie is broken by the column-major first pixel, as the reference does.
* The deepest level of each pixel is kept per block (inside blocks) and per pixel (boundary tiles).
Exact: integer levels and integer sizes throughout, the same float32 phi as the reference, summed in the
same (row-major) order in float64, so the value is equal (``==``) to the labelling version
(``fast._conn_by_labelling``) and to the literal reference; tests/test_conn_levels.py checks both.
Inputs are checked by the caller (``fast._check_unknown_args``): HxW uint8 or float alpha maps of one shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import cv2
import numpy as np

_B = 16  # block side
_ALPHA8 = np.arange(256, dtype=np.float32) / np.float32(255.0)  # MATLAB single(k)/255
_TH = (np.arange(11, dtype=np.float64) / 10.0).astype(np.float32)
# uint8 k -> number of thresholds th_1..th_10 that single(k)/255 passes (float32 comparison)
_LEVEL8 = np.array([int((_ALPHA8[k] >= _TH[1:]).sum()) for k in range(256)], dtype=np.uint8)
_L = np.append(_TH[:-1], np.float32(1.0))  # l for a pixel that stayed s levels: th_s, or 1 for s = 10
_PHI_CUT = np.float32(0.15)


def _alpha32(x: np.ndarray) -> np.ndarray:
    """A map as the reference's single-precision alpha: 8-bit k -> single(k)/255, floats -> float32."""
    return _ALPHA8[x] if x.dtype == np.uint8 else x.astype(np.float32, copy=False)


def _phi(alpha: np.ndarray, l: np.ndarray) -> np.ndarray:
    d = alpha - l
    return 1 - d * (d >= _PHI_CUT)


_PHI8 = _phi(np.tile(_ALPHA8, 11), np.repeat(_L, 256))  # [(s << 8) | k]: phi of 8-bit k after s levels


@dataclass(frozen=True)
class _Grid:
    """The level image cropped to M_1's box, zero-padded to whole blocks, and its block extrema."""

    q4: np.ndarray  # (nby, nbx, B, B) view of the padded level image
    bmin: np.ndarray  # (nby, nbx) smallest level in each block
    bmax: np.ndarray
    height: int  # padded height, for column-major keys


@dataclass(frozen=True)
class _Level:
    """One level's components. Nodes: tile labels 1..n_tile (node = label - 1), then the groups of
    4-connected inside blocks (node = n_tile + group - 1)."""

    my: np.ndarray
    mx: np.ndarray  # boundary tiles' block coordinates
    lab: np.ndarray  # (n_mixed, B, B) int32 tile labels, 0 outside M_i
    groups: np.ndarray  # (nby, nbx) int32: group of each inside block, 0 elsewhere
    n_tile: int
    comp: np.ndarray  # component of each node
    winner: int  # the largest component (-1: M_i empty)


def _levels(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Q: how many of th_1..th_10 min(p, g) passes, compared in float32 as the reference does."""
    if p.dtype == np.uint8 and g.dtype == np.uint8:
        return cv2.LUT(cv2.min(p, g), _LEVEL8)
    low = np.minimum(_alpha32(p), _alpha32(g))
    return np.searchsorted(_TH[1:], low, side="right").astype(np.uint8)


def _grid(q: np.ndarray) -> _Grid:
    h, w = q.shape
    nby, nbx = -(-h // _B), -(-w // _B)
    pad = np.zeros((nby * _B, nbx * _B), np.uint8)
    pad[:h, :w] = q
    rows = pad.reshape(nby, _B, nbx * _B)
    lo = rows.min(axis=1).reshape(nby, nbx, _B).min(axis=2)
    hi = rows.max(axis=1).reshape(nby, nbx, _B).max(axis=2)
    return _Grid(pad.reshape(nby, _B, nbx, _B).transpose(0, 2, 1, 3), lo, hi, nby * _B)


def _seam_edges(lv: _Level, tile_at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of nodes that touch across a block seam, both pixels in M_i (tile-tile, tile-block;
    blocks inside M_i that touch are one group already)."""
    nby, nbx = lv.groups.shape
    a_all, b_all = [], []
    lab = lv.lab
    # (dy, dx, this tile's edge, the neighbour's facing edge)
    for dy, dx, mine, theirs in ((0, 1, lab[:, :, -1], lab[:, :, 0]), (1, 0, lab[:, -1, :], lab[:, 0, :]),
                                 (0, -1, lab[:, :, 0], None), (-1, 0, lab[:, 0, :], None)):
        ny, nx = lv.my + dy, lv.mx + dx
        ok = (ny >= 0) & (ny < nby) & (nx >= 0) & (nx < nbx)
        t = np.flatnonzero(ok)
        ny, nx = ny[t], nx[t]
        grp = lv.groups[ny, nx]
        sel = grp > 0  # neighbour inside M_i: every edge pixel of this tile in M_i touches it
        e = mine[t[sel]]
        hit = e > 0
        a_all.append(e[hit] - 1)
        b_all.append(np.broadcast_to((lv.n_tile + grp[sel] - 1)[:, None], e.shape)[hit])
        if theirs is not None:  # tile-tile seams, each counted once (right and down)
            u = tile_at[ny, nx]
            sel = u >= 0
            e1, e2 = mine[t[sel]], theirs[u[sel]]
            hit = (e1 > 0) & (e2 > 0)
            a_all.append(e1[hit] - 1)
            b_all.append(e2[hit] - 1)
    return np.concatenate(a_all), np.concatenate(b_all)


def _first_keys(grid: _Grid, lv: _Level, tied: np.ndarray) -> np.ndarray:
    """Column-major index (x * height + y) of the first pixel of each tied component."""
    keys = np.full(tied.size, np.iinfo(np.int64).max, np.int64)
    # an inside block's first pixel in column-major order is its top-left corner
    by, bx = np.nonzero(lv.groups)
    comps = lv.comp[lv.n_tile + lv.groups[by, bx] - 1]
    sel = np.isin(comps, tied)
    k = bx[sel].astype(np.int64) * _B * grid.height + by[sel] * _B
    np.minimum.at(keys, np.searchsorted(tied, comps[sel]), k)
    t, i, jj = np.nonzero(lv.lab)
    comps = lv.comp[lv.lab[t, i, jj] - 1]
    sel = np.isin(comps, tied)
    k = (lv.mx[t[sel]].astype(np.int64) * _B + jj[sel]) * grid.height + lv.my[t[sel]] * _B + i[sel]
    np.minimum.at(keys, np.searchsorted(tied, comps[sel]), k)
    return keys


def _label_level(grid: _Grid, k: int) -> _Level:
    """The components of M_k = {Q >= k} as nodes, and the largest one (see the module)."""
    inside = np.greater_equal(grid.bmin, k).view(np.uint8)
    n_grp, groups = cv2.connectedComponents(inside, connectivity=4, ltype=cv2.CV_32S)
    my, mx = np.nonzero((grid.bmin < k) & (grid.bmax >= k))
    n_mixed = my.size
    stack = np.zeros((n_mixed, _B + 1, _B), np.uint8)  # a zero row keeps stacked tiles apart
    stack[:, :_B] = grid.q4[my, mx] >= k
    n_lab, lab = cv2.connectedComponents(stack.reshape(-1, _B), connectivity=4, ltype=cv2.CV_32S) if n_mixed else (1, stack.astype(np.int32))
    lab = lab.reshape(n_mixed, _B + 1, _B)[:, :_B]
    n_tile = n_lab - 1
    sizes = np.concatenate((np.bincount(lab.ravel(), minlength=n_lab)[1:],
                            np.bincount(groups.ravel(), minlength=n_grp)[1:] * (_B * _B)))
    lv = _Level(my, mx, lab, groups, n_tile, np.zeros(0, np.int32), -1)
    if sizes.size == 0:
        return lv
    tile_at = np.full(groups.shape, -1, np.int32)
    tile_at[my, mx] = np.arange(n_mixed, dtype=np.int32)
    a, b = _seam_edges(lv, tile_at)
    n = sizes.size
    comp = _join(n, a, b)
    comp_sizes = np.bincount(comp, weights=sizes)
    tied = np.flatnonzero(comp_sizes == comp_sizes.max())
    lv = _Level(my, mx, lab, groups, n_tile, comp, int(tied[0]))
    if tied.size > 1:
        lv = _Level(my, mx, lab, groups, n_tile, comp, int(tied[np.argmin(_first_keys(grid, lv, tied))]))
    return lv


def _join(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component of each of ``n`` nodes joined by the edges (a[k], b[k]): the smallest node of its component.

    Why not scipy's connected_components: the graphs are small (the tiles and block groups of one level) and
    building its sparse matrix cost more than the labelling. Each round hooks the larger root of every
    edge under the smaller one, then jumps pointers until every node points at a root; labels only
    decrease, so it ends, and it ends when both ends of every edge share a root.
    """
    parent = np.arange(n, dtype=np.int64)
    while a.size:
        ra, rb = parent[a], parent[b]
        split = ra != rb
        if not split.any():
            break
        ra, rb = ra[split], rb[split]
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
    return parent


def _winner_pixels(lv: _Level) -> tuple[np.ndarray, np.ndarray]:
    """(blocks of the winner: bool (nby, nbx), tile pixels of the winner: bool tiles)."""
    in_w = lv.comp == lv.winner
    tile_in = np.zeros(lv.n_tile + 1, bool)
    tile_in[1:] = in_w[: lv.n_tile]
    grp_in = np.zeros(in_w.size - lv.n_tile + 1, bool)
    grp_in[1:] = in_w[lv.n_tile :]
    return grp_in[lv.groups], tile_in[lv.lab]


def _depth(grid: _Grid, last: int) -> np.ndarray:
    """Per padded pixel: the deepest level i <= last with the pixel in omega_1 ⊇ ... ⊇ omega_i."""
    nby, nbx = grid.bmin.shape
    dblk = np.zeros((nby, nbx), np.uint8)  # for pixels of blocks that were inside M_i
    dpix = np.zeros((nby * _B, nbx * _B), np.uint8)  # for pixels of boundary tiles
    dpix4 = dpix.reshape(nby, _B, nbx, _B).transpose(0, 2, 1, 3)
    for k in range(1, last + 1):
        lv = _label_level(grid, k)
        if lv.winner < 0:
            break  # M_k empty: omega_k empty, every s is final
        blocks_in, tiles_in = _winner_pixels(lv)
        if blocks_in.any():
            y, x = (int(v) * _B for v in np.unravel_index(int(np.argmax(blocks_in)), blocks_in.shape))
        else:
            t, i, jj = np.unravel_index(int(np.argmax(tiles_in)), tiles_in.shape)
            y, x = int(lv.my[t]) * _B + int(i), int(lv.mx[t]) * _B + int(jj)
        if k > 1 and max(dblk[y // _B, x // _B], dpix[y, x]) != k - 1:
            break  # omega_k lies outside omega_{k-1}: nobody stays in both
        dblk[blocks_in] = k
        if lv.my.size:
            dpix4[lv.my, lv.mx] = np.where(tiles_in, np.uint8(k), dpix4[lv.my, lv.mx])
    full = cv2.resize(dblk, (nbx * _B, nby * _B), interpolation=cv2.INTER_NEAREST)
    return cv2.max(full, dpix)


def conn_from_levels(p: np.ndarray, g: np.ndarray, unknown: np.ndarray, idx: np.ndarray,
                     pu: Optional[np.ndarray] = None, gu: Optional[np.ndarray] = None) -> float:
    """Conn / 1000 of checked maps over the unknown region given as a 0/1 uint8 mask and its sorted
    row-major flat indices (so that a four-metric scorer computes the region once); ``pu``, ``gu``: the
    maps' values at ``idx`` when the caller has them. Empty region: 0.0."""
    if idx.size == 0:
        return 0.0
    q = _levels(p, g)
    # only unknown pixels with p != g add to the sum: levels above their highest Q change nothing
    differ = cv2.compare(p, g, cv2.CMP_NE) if p.dtype == g.dtype == np.uint8 else np.not_equal(
        _alpha32(p), _alpha32(g)).view(np.uint8)
    last = int(cv2.minMaxLoc(q, mask=cv2.bitwise_and(differ, unknown))[1])
    depth = np.zeros(q.shape, np.uint8)
    bx, by, bw, bh = cv2.boundingRect(np.greater_equal(q, 1).view(np.uint8))
    if bw > 0 and last > 0:
        depth[by:by + bh, bx:bx + bw] = _depth(_grid(q[by:by + bh, bx:bx + bw]), last)[:bh, :bw]
    s_u = depth.reshape(-1)[idx]
    pu = p.reshape(-1)[idx] if pu is None else pu
    gu = g.reshape(-1)[idx] if gu is None else gu
    if p.dtype == np.uint8 and g.dtype == np.uint8:
        # one lookup of the float32 |phi_p - phi_t| per pixel: the same values, summed in the same order
        key = (s_u.astype(np.int32) << 16) | (pu.astype(np.int32) << 8) | gu
        return float(_phi_diff8()[key].sum(dtype=np.float64)) / 1000.0
    phi_p, phi_t = _phi(_alpha32(pu), _L[s_u]), _phi(_alpha32(gu), _L[s_u])
    return float(np.abs(phi_p - phi_t).sum(dtype=np.float64)) / 1000.0


@lru_cache(maxsize=1)
def _phi_diff8() -> np.ndarray:
    """[(s << 16) | (p << 8) | g]: float32 |phi(p) - phi(g)| of 8-bit p, g after s levels (2.9 MB, built once)."""
    phi = _PHI8.reshape(11, 256)
    return np.abs(phi[:, :, None] - phi[:, None, :]).reshape(-1)
