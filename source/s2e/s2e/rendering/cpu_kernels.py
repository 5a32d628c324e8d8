"""Numba kernels of the CPU rasterizer: fused projection + SH, per-image depth sort and tile binning, compositing.

The structure is gsplat's (project -> intersect tiles -> sort by depth -> rasterize tiles) with the
same arithmetic, compiled for the CPU and parallel over the machine's cores (work_queue hands out the images, chunks
and tiles one at a time: their costs differ a hundredfold). Arrays are float32 NumPy views of the torch tensors (no
copies); every loop over Gaussians or pixels lives here.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import projection
from .cache_hints import AHEAD, prefetch
from .sh import C0, C1, C2, C3  # compile-time constants of the kernels
from .simd_rows import LANES, ROWS, STATE_PLANES, composite_rows
from .work_queue import claim

ALPHA_THRESHOLD = np.float32(projection.ALPHA_THRESHOLD)
CHUNK = 2048
BATCH_ROW = CHUNK + 16
"""Row length of project_kernel's batch arrays: a chunk and one cache line (float32) or two (float64)."""
TILE = LANES
"""Tiles are 8x8 pixels: a row is 8 lanes of simd_rows' vectors, the tile's pixel mask one uint64 (raster_kernel)."""


@njit(cache=True, inline="always")
def _sh_color(sh, s, g, k, x, y, z, ch):
    """Colour channel ch of Gaussian g of scene s seen along (x, y, z) from its k SH coefficients (indexed in
    place: a view sh[s, g] would cost a reference count per call)."""
    r = C0 * sh[s, g, 0, ch]
    if k > 1:
        r += -C1 * y * sh[s, g, 1, ch] + C1 * z * sh[s, g, 2, ch] - C1 * x * sh[s, g, 3, ch]
    if k > 4:
        xx, yy, zz = x * x, y * y, z * z
        r += (C2[0] * x * y * sh[s, g, 4, ch] + C2[1] * y * z * sh[s, g, 5, ch]
              + C2[2] * (2 * zz - xx - yy) * sh[s, g, 6, ch] + C2[3] * x * z * sh[s, g, 7, ch]
              + C2[4] * (xx - yy) * sh[s, g, 8, ch])
        if k > 9:
            r += (C3[0] * y * (3 * xx - yy) * sh[s, g, 9, ch] + C3[1] * x * y * z * sh[s, g, 10, ch]
                  + C3[2] * y * (4 * zz - xx - yy) * sh[s, g, 11, ch]
                  + C3[3] * z * (2 * zz - 3 * xx - 3 * yy) * sh[s, g, 12, ch]
                  + C3[4] * x * (4 * zz - xx - yy) * sh[s, g, 13, ch] + C3[5] * z * (xx - yy) * sh[s, g, 14, ch]
                  + C3[6] * x * (xx - 3 * yy) * sh[s, g, 15, ch])
    return max(r + 0.5, 0.0)


@njit(cache=True, error_model="numpy")
def _covariances(batch32, batch64, v, eps2d, antialiased, count, cov):
    """cov[:, b] = ca, cb, cd (cov2d = T T^T + eps2d I, T = J W M), det(cov2d) (0 unless > 0) and the opacity (faded by
    sqrt(det(T T^T) / det(cov2d)) when `antialiased`) of the batch's Gaussians b < count: batch32 rows qw, qx, qy, qz,
    sx, sy, sz, opacity, j00, j11 (float32), batch64 rows j02, j12 (float64), W = v[:3, :3].

    A loop of its own, without a branch and with division by zero left to IEEE (NumPy's error model instead of
    Python's check before each division), so that the compiler runs it on vectors of Gaussians: the square roots and
    divisions that bound the scalar projection go 4 at a time. Same operations in the same order as one Gaussian at a
    time, so the same bits."""
    for b in range(count):
        qw, qx, qy, qz = batch32[0, b], batch32[1, b], batch32[2, b], batch32[3, b]
        sx, sy, sz, o = batch32[4, b], batch32[5, b], batch32[6, b], batch32[7, b]
        j00, j11, j02, j12 = batch32[8, b], batch32[9, b], batch64[0, b], batch64[1, b]
        # world covariance M M^T, M = R(q) diag(s)
        inv = 1.0 / math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
        qw, qx, qy, qz = qw * inv, qx * inv, qy * inv, qz * inv
        m00 = (1 - 2 * (qy * qy + qz * qz)) * sx
        m01 = 2 * (qx * qy - qw * qz) * sy
        m02 = 2 * (qx * qz + qw * qy) * sz
        m10 = 2 * (qx * qy + qw * qz) * sx
        m11 = (1 - 2 * (qx * qx + qz * qz)) * sy
        m12 = 2 * (qy * qz - qw * qx) * sz
        m20 = 2 * (qx * qz - qw * qy) * sx
        m21 = 2 * (qy * qz + qw * qx) * sy
        m22 = (1 - 2 * (qx * qx + qy * qy)) * sz
        # T = J W M with W the view rotation; cov2d = T T^T
        a0 = j00 * v[0, 0] + j02 * v[2, 0]
        a1 = j00 * v[0, 1] + j02 * v[2, 1]
        a2 = j00 * v[0, 2] + j02 * v[2, 2]
        b0 = j11 * v[1, 0] + j12 * v[2, 0]
        b1 = j11 * v[1, 1] + j12 * v[2, 1]
        b2 = j11 * v[1, 2] + j12 * v[2, 2]
        t00 = a0 * m00 + a1 * m10 + a2 * m20
        t01 = a0 * m01 + a1 * m11 + a2 * m21
        t02 = a0 * m02 + a1 * m12 + a2 * m22
        t10 = b0 * m00 + b1 * m10 + b2 * m20
        t11 = b0 * m01 + b1 * m11 + b2 * m21
        t12 = b0 * m02 + b1 * m12 + b2 * m22
        ca = t00 * t00 + t01 * t01 + t02 * t02 + eps2d
        cb = t00 * t10 + t01 * t11 + t02 * t12
        cd = t10 * t10 + t11 * t11 + t12 * t12 + eps2d
        det = ca * cd - cb * cb
        det_orig = (ca - eps2d) * (cd - eps2d) - cb * cb
        faded = o * math.sqrt(max(det_orig / (det if det > 0 else 1.0), 0.0))
        cov[0, b], cov[1, b], cov[2, b] = ca, cb, cd
        cov[3, b] = det if det > 0 else 0.0  # 0 for NaN too (a zero quaternion): not drawn
        cov[4, b] = faded if antialiased else np.float64(o)


@njit(parallel=True, cache=True)
def project_kernel(means, quats, scales, opacities, sh, scene_of_image, cand_ids, cand_counts, viewmats, Ks, width,
                   height, near, far, eps2d, sh_coeffs, antialiased, means2d, conics, depths, radii, colors, opac_out,
                   workers):
    """Project image i's candidates, Gaussians cand_ids[i, :cand_counts[i]] of scene `scene_of_image[i]`
    (ascending ids: every Gaussian, or those a culler kept), into image i. Outputs are [I, C, ...] by
    candidate slot; slots past the count get radius 0 (not drawn).

    With `antialiased`, opacities are scaled by sqrt(det(cov2d) / det(cov2d + eps2d)) (gsplat's
    'antialiased' mode), so that Gaussians smaller than a pixel fade instead of bloating.
    """
    num_images = viewmats.shape[0]
    n = cand_ids.shape[1]
    chunks = (n + CHUNK - 1) // CHUNK
    num_jobs = num_images * chunks
    counter = np.zeros(1, np.int64)
    for _ in prange(workers):  # jobs of an image's chunk of candidates, taken one at a time (work_queue)
        job = claim(counter)
        while job < num_jobs:
            img = job // chunks
            s = scene_of_image[img]
            v = viewmats[img]
            fx, fy, cx, cy = Ks[img, 0, 0], Ks[img, 1, 1], Ks[img, 0, 2], Ks[img, 1, 2]
            lim_xp = (width - cx) / fx + 0.15 * width / fx
            lim_xn = cx / fx + 0.15 * width / fx
            lim_yp = (height - cy) / fy + 0.15 * height / fy
            lim_yn = cy / fy + 0.15 * height / fy
            # camera centre -R^T t, for view-dependent colour
            px = -(v[0, 0] * v[0, 3] + v[1, 0] * v[1, 3] + v[2, 0] * v[2, 3])
            py = -(v[0, 1] * v[0, 3] + v[1, 1] * v[1, 3] + v[2, 1] * v[2, 3])
            pz = -(v[0, 2] * v[0, 3] + v[1, 2] * v[1, 3] + v[2, 2] * v[2, 3])
            start = (job % chunks) * CHUNK
            # the candidates that pass the cheap tests, one row per quantity; rows BATCH_ROW apart, not a multiple
            # of 4 KiB, which the CPU would take for the same address and make the rows' loads and stores wait on each
            # other. Allocated per job: kept across a worker's jobs, this loop ran ~50x slower on an unculled single
            # image (cause not found)
            batch_slot = np.empty(CHUNK, np.int64)
            batch32 = np.empty((13, BATCH_ROW), np.float32)
            batch64 = np.empty((2, BATCH_ROW), np.float64)
            cov = np.empty((5, BATCH_ROW), np.float64)
            count = 0
            for slot in range(start, min(start + CHUNK, n)):
                radii[img, slot, 0] = 0
                radii[img, slot, 1] = 0
                if slot >= cand_counts[img]:
                    continue
                g = cand_ids[img, slot]
                o = opacities[s, g]
                if o < ALPHA_THRESHOLD:
                    continue
                mx, my, mz = means[s, g, 0], means[s, g, 1], means[s, g, 2]
                x = v[0, 0] * mx + v[0, 1] * my + v[0, 2] * mz + v[0, 3]
                y = v[1, 0] * mx + v[1, 1] * my + v[1, 2] * mz + v[1, 3]
                z = v[2, 0] * mx + v[2, 1] * my + v[2, 2] * mz + v[2, 3]
                if z < near or z > far:
                    continue
                u = fx * x / z + cx
                w = fy * y / z + cy
                tx = z * min(max(x / z, -lim_xn), lim_xp)
                ty = z * min(max(y / z, -lim_yn), lim_yp)
                j00, j02 = fx / z, -fx * tx / (z * z)
                j11, j12 = fy / z, -fy * ty / (z * z)
                sx, sy, sz = scales[s, g, 0], scales[s, g, 1], scales[s, g, 2]
                # off screen whatever its orientation? cov2d[0, 0] = |(J W)_0 M|^2 + eps2d <= (j00^2 + j02^2) max(s)^2
                # + eps2d (the rows of W are orthonormal; 1 % and a pixel of slack for float32), so most of what
                # lies outside the image costs this test only
                smax2 = max(sx * sx, sy * sy, sz * sz) * 1.01
                bx = 3.33 * math.sqrt((j00 * j00 + j02 * j02) * smax2 + eps2d) + 1.0
                by = 3.33 * math.sqrt((j11 * j11 + j12 * j12) * smax2 + eps2d) + 1.0
                if u + bx <= 0 or u - bx >= width or w + by <= 0 or w - by >= height:
                    continue
                # drawn unless its covariance says otherwise: batched, see _covariances
                batch_slot[count] = slot
                batch32[0, count], batch32[1, count] = quats[s, g, 0], quats[s, g, 1]
                batch32[2, count], batch32[3, count] = quats[s, g, 2], quats[s, g, 3]
                batch32[4, count], batch32[5, count], batch32[6, count] = sx, sy, sz
                batch32[7, count], batch32[8, count], batch32[9, count] = o, j00, j11
                batch32[10, count] = u
                batch32[11, count] = w
                batch32[12, count] = z
                batch64[0, count], batch64[1, count] = j02, j12
                count += 1
            _covariances(batch32, batch64, v, eps2d, antialiased, count, cov)
            for b in range(count):
                det = cov[3, b]
                if det <= 0:
                    continue
                o = cov[4, b]
                if o < ALPHA_THRESHOLD:
                    continue
                ca, cb, cd = cov[0, b], cov[1, b], cov[2, b]
                slot = batch_slot[b]
                g = cand_ids[img, slot]
                u, w, z = batch32[10, b], batch32[11, b], batch32[12, b]
                mx, my, mz = means[s, g, 0], means[s, g, 1], means[s, g, 2]
                extend = min(3.33, math.sqrt(2.0 * math.log(o / ALPHA_THRESHOLD)))
                rx = math.ceil(extend * math.sqrt(ca))
                ry = math.ceil(extend * math.sqrt(cd))
                if u + rx <= 0 or u - rx >= width or w + ry <= 0 or w - ry >= height:
                    continue
                radii[img, slot, 0] = rx
                radii[img, slot, 1] = ry
                means2d[img, slot, 0] = u
                means2d[img, slot, 1] = w
                depths[img, slot] = z
                opac_out[img, slot] = o
                conics[img, slot, 0] = cd / det
                conics[img, slot, 1] = -cb / det
                conics[img, slot, 2] = ca / det
                dx, dy, dz = mx - px, my - py, mz - pz
                dn = 1.0 / max(math.sqrt(dx * dx + dy * dy + dz * dz), 1e-12)
                for ch in range(3):
                    colors[img, slot, ch] = _sh_color(sh, s, g, sh_coeffs, dx * dn, dy * dn, dz * dn, ch)
            job = claim(counter)


@njit(parallel=True, cache=True)
def visible_cells_kernel(boxes, scene_of_image, viewmats, Ks, width, height, near, margin, out):
    """out[i, c]: cell c's box [lo, hi] of scene `scene_of_image[i]` may reach image i, i.e. it is not
    entirely outside one of the frustum's planes (near, and the four sides widened by `margin` of the
    image size). The last column (the always-drawn cell) is set True."""
    num_cells = boxes.shape[1]
    for img in prange(viewmats.shape[0]):
        normals = np.empty((5, 3), np.float64)
        offsets = np.zeros(5, np.float64)
        s = scene_of_image[img]
        v = viewmats[img]
        fx, fy, cx, cy = Ks[img, 0, 0], Ks[img, 1, 1], Ks[img, 0, 2], Ks[img, 1, 2]
        left = (cx + margin * width) / fx
        right = (width - cx + margin * width) / fx
        top = (cy + margin * height) / fy
        bottom = (height - cy + margin * height) / fy
        # inward normals in the camera frame (n . p + d >= 0 inside): z >= near, x >= -left z, x <= right z, y >= -top
        # z, y <= bottom z
        cam = ((0.0, 0.0, 1.0), (1.0, 0.0, left), (-1.0, 0.0, right), (0.0, 1.0, top), (0.0, -1.0, bottom))
        for p in range(5):
            a, b, c = cam[p]
            # world normal n^T R and offset d + n . t (p_cam = R p_world + t)
            for j in range(3):
                normals[p, j] = a * v[0, j] + b * v[1, j] + c * v[2, j]
            offsets[p] = (-near if p == 0 else 0.0) + a * v[0, 3] + b * v[1, 3] + c * v[2, 3]
        for cell in range(num_cells):
            lo, hi = boxes[s, cell, 0], boxes[s, cell, 1]
            inside = lo[0] <= hi[0]  # an empty cell has lo = +inf > hi = -inf
            p = 0
            while inside and p < 5:
                far = offsets[p]  # the box corner furthest along the normal
                for j in range(3):
                    far += normals[p, j] * (hi[j] if normals[p, j] >= 0 else lo[j])
                inside = far >= 0
                p += 1
            out[img, cell] = inside
        out[img, num_cells] = True


@njit(parallel=True, cache=True)
def compact_kernel(cell_of, scene_of_image, cell_visible, cand_ids, cand_counts):
    """Per image, the ascending ids of the Gaussians whose cell is visible (cell -1: never drawn)."""
    for img in prange(cell_visible.shape[0]):
        cells = cell_of[scene_of_image[img]]
        m = 0
        for g in range(cells.shape[0]):
            c = cells[g]
            if c >= 0 and cell_visible[img, c]:
                cand_ids[img, m] = g
                m += 1
        cand_counts[img] = m


RADIX_BITS = 11
"""Depth keys (32 bits) are sorted in three passes of 11 bits: 2,048 buckets, a histogram that stays in L1."""
SLOT_BITS = np.uint64(32)
"""A sort value is a visible Gaussian's depth (float32 >= 0 as uint32 bits: same order) above its slot."""


@njit(cache=True)
def _radix_sort_by_depth(values, spare):
    """Sort values (uint64: depth bits << 32 | slot, slots ascending) by depth, stable, so ties stay in slot order;
    spare is scratch of the same size. Counting passes over the depth's three 11-bit digits, all three histograms
    counted in one read, a pass skipped when one bucket holds every value (the depths of a frame share their top
    bits): a frame's sort costs a few passes over its visible Gaussians instead of a comparison sort's log m."""
    m = values.shape[0]
    buckets = 1 << RADIX_BITS
    digit = np.uint64(buckets - 1)
    hist = np.zeros((3, buckets), np.int64)
    for i in range(m):
        key = values[i] >> SLOT_BITS
        hist[0, key & digit] += 1
        hist[1, (key >> np.uint64(RADIX_BITS)) & digit] += 1
        hist[2, (key >> np.uint64(2 * RADIX_BITS)) & digit] += 1
    src, dst = values, spare
    for p in range(3):
        shift = SLOT_BITS + np.uint64(p * RADIX_BITS)
        total, whole = 0, False
        for d in range(buckets):
            c = hist[p, d]
            whole |= c == m
            hist[p, d] = total
            total += c
        if whole:
            continue
        for i in range(m):
            value = src[i]
            d = (value >> shift) & digit
            dst[hist[p, d]] = value
            hist[p, d] += 1
        src, dst = dst, src
    if src is not values:  # an odd number of passes leaves the result in the scratch array
        values[:] = src


RECORD = 10
"""A visible Gaussian's record, packed front to back per image: u, v, conic (a, b, c), opacity, r, g, b, depth."""
BOX = 8
"""Its pixel box (x0, x1, y0, y1: columns x0..x1-1, rows y0..y1-1) and tile span (the same in tiles)."""


@njit(parallel=True, cache=True)
def visible_kernel(radii, ids, num_visible):
    """Per image, the candidate slots that projection kept (radius > 0), ascending, in ids[img, :num_visible[img]]."""
    for img in prange(radii.shape[0]):
        m = 0
        for g in range(radii.shape[1]):
            if radii[img, g, 0] > 0:
                ids[img, m] = g
                m += 1
        num_visible[img] = m


@njit(parallel=True, cache=True)
def sort_kernel(means2d, conics, colors, opacities, depths, radii, tiles_x, tiles_y, ids, num_visible, records, boxes,
                counts, workers):
    """Per image: the visible Gaussians (slots ids[img, :num_visible[img]], ascending) sorted front to back (stable),
    packed into records[img, :m] with their boxes[img, :m], and the number of Gaussians per tile in counts[img].
    Packing once here means that the tile lists and the compositing read each Gaussian's values from one place in
    depth order, and compute its box once instead of once per tile it reaches. The counts are a difference table
    (four updates per Gaussian, summed per image after), not a loop over each Gaussian's tiles, whose unpredictable
    trip counts cost more than the counting."""
    num_images = ids.shape[0]
    order = np.argsort(-num_visible)  # the largest images first, so no thread is left with one at the end
    slot_mask = np.uint64(0xFFFFFFFF)
    counter = np.zeros(1, np.int64)
    for _ in prange(workers):  # images taken one at a time (work_queue)
        job = claim(counter)
        while job < num_images:
            img = order[job]
            m = num_visible[img]
            diff = np.zeros((tiles_y + 1, tiles_x + 1), np.int64)
            values = np.empty(m, np.uint64)
            bits = depths[img].view(np.uint32)
            for i in range(m):
                g = ids[img, i]
                values[i] = (np.uint64(bits[g]) << SLOT_BITS) | np.uint64(g)
            _radix_sort_by_depth(values, np.empty(m, np.uint64))
            for i in range(m):
                if i + AHEAD < m:  # the gathers below read in depth order, i.e. anywhere in the candidate arrays
                    ahead = values[i + AHEAD] & slot_mask
                    prefetch(means2d, (img, ahead, 0))
                    prefetch(conics, (img, ahead, 0))
                    prefetch(colors, (img, ahead, 0))
                    prefetch(opacities, (img, ahead))
                    prefetch(depths, (img, ahead))
                    prefetch(radii, (img, ahead, 0))
                g = values[i] & slot_mask
                u, w = means2d[img, g, 0], means2d[img, g, 1]
                rx, ry = radii[img, g, 0], radii[img, g, 1]
                records[img, i, 0], records[img, i, 1] = u, w
                for c in range(3):
                    records[img, i, 2 + c] = conics[img, g, c]
                    records[img, i, 6 + c] = colors[img, g, c]
                records[img, i, 5] = opacities[img, g]
                records[img, i, 9] = depths[img, g]
                boxes[img, i, 0] = int(math.floor(u - rx))
                boxes[img, i, 1] = int(math.ceil(u + rx)) + 1
                boxes[img, i, 2] = int(math.floor(w - ry))
                boxes[img, i, 3] = int(math.ceil(w + ry)) + 1
                tx0 = min(max(int(math.floor((u - rx) / TILE)), 0), tiles_x)
                tx1 = min(max(int(math.ceil((u + rx) / TILE)), 0), tiles_x)
                ty0 = min(max(int(math.floor((w - ry) / TILE)), 0), tiles_y)
                ty1 = min(max(int(math.ceil((w + ry) / TILE)), 0), tiles_y)
                boxes[img, i, 4], boxes[img, i, 5], boxes[img, i, 6], boxes[img, i, 7] = tx0, tx1, ty0, ty1
                if tx0 < tx1 and ty0 < ty1:
                    diff[ty0, tx0] += 1
                    diff[ty0, tx1] -= 1
                    diff[ty1, tx0] -= 1
                    diff[ty1, tx1] += 1
            for ty in range(tiles_y):  # prefix sums of the table: each tile counts the Gaussians whose span holds it
                run = 0
                for tx in range(tiles_x):
                    run += diff[ty, tx]
                    counts[img, ty * tiles_x + tx] = run + (counts[img, (ty - 1) * tiles_x + tx] if ty > 0 else 0)
            job = claim(counter)


@njit(parallel=True, cache=True)
def fill_kernel(boxes, num_visible, tiles_x, tiles_y, offsets, flat_ids, workers):
    """Write each image's per-tile lists of record indices (depth order kept) into flat_ids at `offsets`."""
    num_images = boxes.shape[0]
    num_tiles = tiles_x * tiles_y
    counter = np.zeros(1, np.int64)
    for _ in prange(workers):  # images taken one at a time (work_queue)
        img = claim(counter)
        while img < num_images:
            cursor = offsets[img * num_tiles: (img + 1) * num_tiles].copy()
            for i in range(num_visible[img]):
                for ty in range(boxes[img, i, 6], boxes[img, i, 7]):
                    for tx in range(boxes[img, i, 4], boxes[img, i, 5]):
                        t = ty * tiles_x + tx
                        flat_ids[cursor[t]] = i
                        cursor[t] += 1
            img = claim(counter)


def _bit_ranges(stride: int) -> np.ndarray:
    """table[a, b]: the bits of cells a..b-1 of a tile row (stride 1) or tile column (stride TILE) of an 8x8 tile
    whose pixels are bits row * 8 + column of a uint64."""
    table = np.zeros((TILE + 1, TILE + 1), np.uint64)
    for a in range(TILE + 1):
        for b in range(a + 1, TILE + 1):
            table[a, b] = sum(1 << (stride * i) for i in range(a, b))
    return table


COLUMN_BITS = _bit_ranges(1)
ROW_BITS = _bit_ranges(TILE)


@njit(parallel=True, cache=True)
def raster_kernel(records, boxes, offsets, flat_ids, tiles_x, tiles_y, width, height, out, workers):
    """Front-to-back compositing of each 8x8 tile, a Gaussian's rows of the tile two at a time
    (simd_rows.composite_rows). The pixels that can still change (transmittance above 1e-4) are the bits of one
    uint64: a Gaussian whose bounding box holds none of them costs one AND, and so does a pair of rows of its box
    without them (outside the box alpha < 1/255, so nothing is lost). out[..., :3] rgb, 3 depth sum, 4 alpha.
    """
    num_images = records.shape[0]
    num_tiles = tiles_x * tiles_y
    pair_bits = np.uint64((1 << (ROWS * TILE)) - 1)
    num_jobs = num_images * num_tiles
    counter = np.zeros(1, np.int64)
    for _ in prange(workers):  # tiles taken one at a time (work_queue)
        job = claim(counter)
        while job < num_jobs:
            img = job // num_tiles
            tile = job % num_tiles
            y0, x0 = (tile // tiles_x) * TILE, (tile % tiles_x) * TILE
            y1, x1 = min(y0 + TILE, height), min(x0 + TILE, width)
            state = np.zeros((STATE_PLANES, TILE * TILE), np.float32)
            state[0, :] = 1.0
            live = COLUMN_BITS[0, x1 - x0] * ROW_BITS[0, y1 - y0]  # pixels outside the image are never live
            end = offsets[job + 1]
            for k in range(offsets[job], end):
                if k + AHEAD < end:  # a tile's list skips through its image's records: ask for them early
                    ahead = flat_ids[k + AHEAD]
                    prefetch(boxes, (img, ahead, 0))
                    prefetch(records, (img, ahead, 0))
                    prefetch(records, (img, ahead, RECORD - 1))  # a record may straddle two cache lines
                i = flat_ids[k]
                bx0, bx1 = max(x0, boxes[img, i, 0]), min(x1, boxes[img, i, 1])
                by0, by1 = max(y0, boxes[img, i, 2]), min(y1, boxes[img, i, 3])
                if bx0 >= bx1 or by0 >= by1:
                    continue
                todo = COLUMN_BITS[bx0 - x0, bx1 - x0] * ROW_BITS[by0 - y0, by1 - y0] & live
                if todo == 0:
                    continue
                u, w, ca, cb, cc = records[img, i, 0], records[img, i, 1], records[img, i, 2], records[img, i, 3], \
                    records[img, i, 4]
                o, cr, cg, cbl, cz = records[img, i, 5], records[img, i, 6], records[img, i, 7], records[img, i, 8], \
                    records[img, i, 9]
                for row in range((by0 - y0) // ROWS * ROWS, by1 - y0, ROWS):
                    shift = np.uint64(row * TILE)
                    wanted = (todo >> shift) & pair_bits
                    if wanted == 0:
                        continue
                    ended = composite_rows(state, row, wanted, x0, w - np.float32(y0 + row + 0.5),
                                           w - np.float32(y0 + row + 1.5), u, ca, cb, cc, o, cr, cg, cbl, cz)
                    live &= ~(np.uint64(ended) << shift)
                if live == 0:
                    break
            for py in range(y0, y1):
                for px in range(x0, x1):
                    p = (py - y0) * TILE + px - x0
                    out[img, py, px, 0] = state[1, p]
                    out[img, py, px, 1] = state[2, p]
                    out[img, py, px, 2] = state[3, p]
                    out[img, py, px, 3] = state[4, p]
                    out[img, py, px, 4] = np.float32(1.0) - state[0, p]
            job = claim(counter)
