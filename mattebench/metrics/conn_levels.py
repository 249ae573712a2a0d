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
  boundary are labelled pixel by pixel (one OpenCV call per level on the stacked tiles). All levels are
  labelled first, their labels numbered on from level to level, so that the seams of every level are
  joined in one pass (:func:`_join`, union by minimum label) and the sizes summed in one count (a loop per
  level cost more in numpy calls than in pixels); the largest component of each level wins, a tie broken
  by the column-major first pixel, as the reference does.
* Up to the first level where the chain breaks, omega_1 ⊇ omega_2 ⊇ ..., so a pixel's depth is the number of
  levels whose omega holds it: counted per block (inside blocks) and per pixel (boundary tiles).
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

from mattebench.types import ALPHA_OF_8BIT

_B = 16  # block side
_ALPHA8 = ALPHA_OF_8BIT  # MATLAB single(k)/255
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
class _Levels:
    """The components of every level M_1..M_last at once. Nodes: tile labels 1..n_tile (node = label - 1), then
    the groups of 4-connected inside blocks (node = n_tile + group - 1). Labels are numbered level after level
    and no component spans two levels, so one join serves them all."""

    lk: np.ndarray  # level - 1 of each boundary tile (sorted)
    my: np.ndarray
    mx: np.ndarray  # boundary tiles' block coordinates
    lab: np.ndarray  # (n_mixed, B, B) int32 tile labels, 0 outside the tile's M_k
    groups: np.ndarray  # (last, nby, nbx) int32: group of each inside block per level, 0 elsewhere
    tile_at: np.ndarray  # (last, nby, nbx) int32: index of the boundary tile there, -1 elsewhere
    n_tile: int
    comp: np.ndarray  # component of each node: its smallest node
    level: np.ndarray  # level - 1 of each node
    sizes: np.ndarray  # pixels of each component, at its smallest node


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


def _label_levels(grid: _Grid, last: int) -> _Levels:
    """The components of M_1..M_last as nodes (see the module): per level one OpenCV labelling of the inside
    blocks and one of the stacked boundary tiles (labels offset so that they run on across levels), then every
    seam of every level joined at once."""
    nby, nbx = grid.bmin.shape
    ks = np.arange(1, last + 1, dtype=np.uint8)[:, None, None]
    inside = (grid.bmin >= ks).view(np.uint8)  # (last, nby, nbx)
    lk, my, mx = np.nonzero((grid.bmin < ks) & (grid.bmax >= ks))  # boundary tiles, level by level
    stack = np.zeros((lk.size, _B + 1, _B), np.uint8)  # a zero row keeps stacked tiles apart
    stack[:, :_B] = grid.q4[my, mx] > lk.astype(np.uint8)[:, None, None]  # q >= k, k = lk + 1
    lab = np.zeros(stack.shape, np.int32)
    groups = np.zeros(inside.shape, np.int32)
    bounds = np.searchsorted(lk, np.arange(last + 1))
    n_tiles, n_groups = np.zeros(last, np.int64), np.zeros(last, np.int64)
    for j in range(last):
        t0, t1 = bounds[j], bounds[j + 1]
        if t1 > t0:
            n, lab_j = cv2.connectedComponents(stack[t0:t1].reshape(-1, _B), connectivity=4, ltype=cv2.CV_32S)
            np.add(lab_j, n_tiles[:j].sum(), out=lab_j, where=lab_j > 0)
            lab[t0:t1] = lab_j.reshape(t1 - t0, _B + 1, _B)
            n_tiles[j] = n - 1
        n, grp_j = cv2.connectedComponents(inside[j], connectivity=4, ltype=cv2.CV_32S)
        groups[j] = np.add(grp_j, n_groups[:j].sum(), out=grp_j, where=grp_j > 0)
        n_groups[j] = n - 1
    lab = lab[:, :_B]
    n_tile = int(n_tiles.sum())
    level = np.repeat(np.concatenate((np.arange(last), np.arange(last))), np.concatenate((n_tiles, n_groups)))
    sizes = np.concatenate((np.bincount(lab.ravel(), minlength=n_tile + 1)[1:],
                            np.bincount(groups.ravel(), minlength=int(n_groups.sum()) + 1)[1:] * (_B * _B)))
    tile_at = np.full(groups.shape, -1, np.int32)
    tile_at[lk, my, mx] = np.arange(lk.size, dtype=np.int32)
    comp = _join(sizes.size, *_seam_edges(lk, my, mx, lab, groups, tile_at, n_tile))
    return _Levels(lk, my, mx, lab, groups, tile_at, n_tile, comp, level,
                   np.bincount(comp, weights=sizes, minlength=sizes.size))


def _seam_edges(lk: np.ndarray, my: np.ndarray, mx: np.ndarray, lab: np.ndarray, groups: np.ndarray,
                tile_at: np.ndarray, n_tile: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of nodes of one level that touch across a block seam, both pixels in M_k (tile-tile, tile-block;
    blocks inside M_k that touch are one group already)."""
    _, nby, nbx = groups.shape
    a_all, b_all = [], []
    # (dy, dx, this tile's edge, the neighbour's facing edge)
    for dy, dx, mine, theirs in ((0, 1, lab[:, :, -1], lab[:, :, 0]), (1, 0, lab[:, -1, :], lab[:, 0, :]),
                                 (0, -1, lab[:, :, 0], None), (-1, 0, lab[:, 0, :], None)):
        ny, nx = my + dy, mx + dx
        t = np.flatnonzero((ny >= 0) & (ny < nby) & (nx >= 0) & (nx < nbx))
        lt, ny, nx = lk[t], ny[t], nx[t]
        grp = groups[lt, ny, nx]
        sel = grp > 0  # neighbour inside M_k: every edge pixel of this tile in M_k touches it
        e = mine[t[sel]]
        hit = e > 0
        a_all.append(e[hit] - 1)
        b_all.append(np.broadcast_to((n_tile + grp[sel] - 1)[:, None], e.shape)[hit])
        if theirs is not None:  # tile-tile seams, each counted once (right and down)
            u = tile_at[lt, ny, nx]
            sel = u >= 0
            e1, e2 = mine[t[sel]], theirs[u[sel]]
            hit = (e1 > 0) & (e2 > 0)
            a_all.append(e1[hit] - 1)
            b_all.append(e2[hit] - 1)
    return np.concatenate(a_all), np.concatenate(b_all)


def _winner(grid: _Grid, lv: _Levels, j: int) -> int:
    """The largest component of level j + 1 (its smallest node), -1 when the level is empty; a tie goes to the
    component whose first pixel comes first in column-major order, as the reference's numbering does."""
    roots = np.flatnonzero((lv.comp == np.arange(lv.comp.size)) & (lv.level == j))
    if roots.size == 0:
        return -1
    sizes = lv.sizes[roots]
    tied = roots[sizes == sizes.max()]
    if tied.size == 1:
        return int(tied[0])
    keys = np.full(tied.size, np.iinfo(np.int64).max, np.int64)
    # an inside block's first pixel in column-major order is its top-left corner
    by, bx = np.nonzero(lv.groups[j])
    comps = lv.comp[lv.n_tile + lv.groups[j][by, bx] - 1]
    sel = np.isin(comps, tied)
    k = bx[sel].astype(np.int64) * _B * grid.height + by[sel] * _B
    np.minimum.at(keys, np.searchsorted(tied, comps[sel]), k)
    t0, t1 = np.searchsorted(lv.lk, [j, j + 1])
    t, i, jj = np.nonzero(lv.lab[t0:t1])
    comps = lv.comp[lv.lab[t0:t1][t, i, jj] - 1]
    sel = np.isin(comps, tied)
    t = t[sel] + t0
    k = (lv.mx[t].astype(np.int64) * _B + jj[sel]) * grid.height + lv.my[t] * _B + i[sel]
    np.minimum.at(keys, np.searchsorted(tied, comps[sel]), k)
    return int(tied[np.argmin(keys)])


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


def _node_at(lv: _Levels, j: int, y: int, x: int) -> int:
    """The node of level j + 1 that holds padded pixel (y, x), which is in M_{j+1}."""
    g = lv.groups[j, y // _B, x // _B]
    if g > 0:
        return lv.n_tile + int(g) - 1
    return int(lv.lab[lv.tile_at[j, y // _B, x // _B], y % _B, x % _B]) - 1


def _a_pixel(lv: _Levels, node: int) -> tuple[int, int]:
    """A padded pixel of ``node``."""
    if node >= lv.n_tile:
        j = int(lv.level[node])
        by, bx = np.unravel_index(int(np.argmax(lv.groups[j] == node - lv.n_tile + 1)), lv.groups[j].shape)
        return int(by) * _B, int(bx) * _B
    t0, t1 = np.searchsorted(lv.lk, [lv.level[node], lv.level[node] + 1])  # the tiles of the node's level
    t, i, jj = np.unravel_index(int(np.argmax(lv.lab[t0:t1] == node + 1)), (t1 - t0, _B, _B))
    return int(lv.my[t0 + t]) * _B + int(i), int(lv.mx[t0 + t]) * _B + int(jj)


def _depth(grid: _Grid, last: int) -> np.ndarray:
    """Per padded pixel: the deepest level i <= last with the pixel in omega_1 ⊇ ... ⊇ omega_i."""
    lv = _label_levels(grid, last)
    winners = np.full(last, -1, np.int64)
    for j in range(last):
        w = _winner(grid, lv, j)
        if w < 0:
            break  # M_k empty: omega_k empty, every s is final
        if j > 0 and lv.comp[_node_at(lv, j - 1, *_a_pixel(lv, w))] != winners[j - 1]:
            break  # omega_k lies outside omega_{k-1}: nobody stays in both
        winners[j] = w
    # omega_1 ⊇ omega_2 ⊇ ... up to the break, so a pixel's depth is the number of levels whose omega holds it
    held = np.zeros(lv.comp.size + 1, bool)  # [node + 1]; [0]: no node
    held[1:] = lv.comp == winners[lv.level]
    nby, nbx = grid.bmin.shape
    groups = np.where(lv.groups > 0, lv.groups + lv.n_tile, 0)
    dblk = held[groups].sum(axis=0, dtype=np.uint8)
    dpix = np.zeros((nby * _B, nbx * _B), np.uint8)
    dpix4 = dpix.reshape(nby, _B, nbx, _B).transpose(0, 2, 1, 3)
    tiles_in = held[lv.lab].view(np.uint8)
    t = np.searchsorted(lv.lk, np.arange(last + 1))
    for j in range(last):  # a block is a boundary tile at most once per level
        if t[j + 1] > t[j] and winners[j] >= 0:
            sl = slice(t[j], t[j + 1])
            dpix4[lv.my[sl], lv.mx[sl]] += tiles_in[sl]
    full = cv2.resize(dblk, (nbx * _B, nby * _B), interpolation=cv2.INTER_NEAREST)
    return cv2.add(full, dpix)


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
