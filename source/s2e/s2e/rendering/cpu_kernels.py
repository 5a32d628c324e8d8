"""Numba kernels of the CPU rasterizer: fused projection + SH, per-image tile binning, compositing.

The structure is gsplat's (project -> intersect tiles -> sort by depth -> rasterize tiles) with the
same arithmetic, compiled for the CPU and parallel over the machine's cores. Arrays are float32
NumPy views of the torch tensors (no copies); every loop over Gaussians or pixels lives here.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .sh import C0, C1, C2, C3  # compile-time constants of the kernels

ALPHA_THRESHOLD = np.float32(1.0 / 255.0)
MAX_ALPHA = np.float32(0.999)
MIN_TRANSMITTANCE = np.float32(1e-4)
CHUNK = 2048


@njit(cache=True, inline="always")
def _sh_color(sh, k, x, y, z, ch):
    r = C0 * sh[0, ch]
    if k > 1:
        r += -C1 * y * sh[1, ch] + C1 * z * sh[2, ch] - C1 * x * sh[3, ch]
    if k > 4:
        xx, yy, zz = x * x, y * y, z * z
        r += (C2[0] * x * y * sh[4, ch] + C2[1] * y * z * sh[5, ch] + C2[2] * (2 * zz - xx - yy) * sh[6, ch]
              + C2[3] * x * z * sh[7, ch] + C2[4] * (xx - yy) * sh[8, ch])
        if k > 9:
            r += (C3[0] * y * (3 * xx - yy) * sh[9, ch] + C3[1] * x * y * z * sh[10, ch]
                  + C3[2] * y * (4 * zz - xx - yy) * sh[11, ch] + C3[3] * z * (2 * zz - 3 * xx - 3 * yy) * sh[12, ch]
                  + C3[4] * x * (4 * zz - xx - yy) * sh[13, ch] + C3[5] * z * (xx - yy) * sh[14, ch]
                  + C3[6] * x * (xx - 3 * yy) * sh[15, ch])
    return max(r + 0.5, 0.0)


@njit(parallel=True, cache=True)
def project_kernel(means, quats, scales, opacities, sh, scene_of_image, cand_ids, cand_counts, viewmats, Ks, width,
                   height, near, far, eps2d, sh_coeffs, antialiased, means2d, conics, depths, radii, colors, opac_out):
    """Project image i's candidates, Gaussians cand_ids[i, :cand_counts[i]] of scene `scene_of_image[i]`
    (ascending ids: every Gaussian, or those a culler kept), into image i. Outputs are [I, C, ...] by
    candidate slot; slots past the count get radius 0 (not drawn).

    With `antialiased`, opacities are scaled by sqrt(det(cov2d) / det(cov2d + eps2d)) (gsplat's
    'antialiased' mode), so that Gaussians smaller than a pixel fade instead of bloating.
    """
    num_images = viewmats.shape[0]
    n = cand_ids.shape[1]
    chunks = (n + CHUNK - 1) // CHUNK
    for job in prange(num_images * chunks):
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
            # world covariance M M^T, M = R(q) diag(s)
            qw, qx, qy, qz = quats[s, g, 0], quats[s, g, 1], quats[s, g, 2], quats[s, g, 3]
            inv = 1.0 / math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
            qw, qx, qy, qz = qw * inv, qx * inv, qy * inv, qz * inv
            sx, sy, sz = scales[s, g, 0], scales[s, g, 1], scales[s, g, 2]
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
            tx = z * min(max(x / z, -lim_xn), lim_xp)
            ty = z * min(max(y / z, -lim_yn), lim_yp)
            j00, j02 = fx / z, -fx * tx / (z * z)
            j11, j12 = fy / z, -fy * ty / (z * z)
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
            if det <= 0:
                continue
            if antialiased:
                det_orig = (ca - eps2d) * (cd - eps2d) - cb * cb
                o = o * math.sqrt(max(det_orig / det, 0.0))
                if o < ALPHA_THRESHOLD:
                    continue
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
                colors[img, slot, ch] = _sh_color(sh[s, g], sh_coeffs, dx * dn, dy * dn, dz * dn, ch)


@njit(cache=True)
def visible_cells_kernel(boxes, scene_of_image, viewmats, Ks, width, height, near, margin, out):
    """out[i, c]: cell c's box [lo, hi] of scene `scene_of_image[i]` may reach image i, i.e. it is not
    entirely outside one of the frustum's planes (near, and the four sides widened by `margin` of the
    image size). The last column (the always-drawn cell) is set True."""
    num_cells = boxes.shape[1]
    normals = np.empty((5, 3), np.float64)
    offsets = np.zeros(5, np.float64)
    for img in range(viewmats.shape[0]):
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


@njit(cache=True)
def _tile_span(img, g, radii, means2d, tile_size, tiles_x, tiles_y):
    rx, ry = radii[img, g, 0], radii[img, g, 1]
    u, w = means2d[img, g, 0], means2d[img, g, 1]
    x0 = min(max(int(math.floor((u - rx) / tile_size)), 0), tiles_x)
    x1 = min(max(int(math.ceil((u + rx) / tile_size)), 0), tiles_x)
    y0 = min(max(int(math.floor((w - ry) / tile_size)), 0), tiles_y)
    y1 = min(max(int(math.ceil((w + ry) / tile_size)), 0), tiles_y)
    return x0, x1, y0, y1


@njit(parallel=True, cache=True)
def count_kernel(radii, means2d, depths, tile_size, tiles_x, tiles_y, order, num_visible, counts):
    """Per image: visible Gaussians sorted front to back (stable), and intersections per tile."""
    num_images, n = depths.shape[0], depths.shape[1]
    for img in prange(num_images):
        m = 0
        for g in range(n):
            if radii[img, g, 0] > 0:
                order[img, m] = g
                m += 1
        num_visible[img] = m
        keys = np.empty(m, np.float32)
        for i in range(m):
            keys[i] = depths[img, order[img, i]]
        idx = np.argsort(keys, kind="mergesort")
        ids = order[img, :m].copy()
        for i in range(m):
            order[img, i] = ids[idx[i]]
        for i in range(m):
            x0, x1, y0, y1 = _tile_span(img, order[img, i], radii, means2d, tile_size, tiles_x, tiles_y)
            for ty in range(y0, y1):
                for tx in range(x0, x1):
                    counts[img, ty * tiles_x + tx] += 1


@njit(parallel=True, cache=True)
def fill_kernel(radii, means2d, tile_size, tiles_x, tiles_y, order, num_visible, offsets, flat_ids):
    """Write each image's per-tile Gaussian lists (depth order kept) into flat_ids at `offsets`."""
    num_images = order.shape[0]
    num_tiles = tiles_x * tiles_y
    for img in prange(num_images):
        cursor = offsets[img * num_tiles: (img + 1) * num_tiles].copy()
        for i in range(num_visible[img]):
            g = order[img, i]
            x0, x1, y0, y1 = _tile_span(img, g, radii, means2d, tile_size, tiles_x, tiles_y)
            for ty in range(y0, y1):
                for tx in range(x0, x1):
                    t = ty * tiles_x + tx
                    flat_ids[cursor[t]] = g
                    cursor[t] += 1


@njit(parallel=True, cache=True)
def raster_kernel(means2d, conics, colors, opacities, depths, radii, offsets, flat_ids,
                  tile_size, tiles_x, tiles_y, width, height, out):
    """Front-to-back compositing of each tile: Gaussians outer, only the pixels inside each one's
    bounding box inner (outside it alpha < 1/255, so nothing is lost). out[..., :3] rgb, 3 depth sum, 4 alpha.
    """
    num_images = means2d.shape[0]
    num_tiles = tiles_x * tiles_y
    for job in prange(num_images * num_tiles):
        img = job // num_tiles
        tile = job % num_tiles
        y0, x0 = (tile // tiles_x) * tile_size, (tile % tiles_x) * tile_size
        y1, x1 = min(y0 + tile_size, height), min(x0 + tile_size, width)
        tw = x1 - x0
        npix = (y1 - y0) * tw
        acc = np.zeros((npix, 4), np.float32)
        trans = np.ones(npix, np.float32)
        done = np.zeros(npix, np.bool_)
        num_done = 0
        for k in range(offsets[job], offsets[job + 1]):
            g = flat_ids[k]
            u, w = means2d[img, g, 0], means2d[img, g, 1]
            rx, ry = radii[img, g, 0], radii[img, g, 1]
            bx0 = max(x0, int(math.floor(u - rx)))
            bx1 = min(x1, int(math.ceil(u + rx)) + 1)
            by0 = max(y0, int(math.floor(w - ry)))
            by1 = min(y1, int(math.ceil(w + ry)) + 1)
            ca, cb, cc = conics[img, g, 0], conics[img, g, 1], conics[img, g, 2]
            o = opacities[img, g]
            cr, cg, cbl, cz = colors[img, g, 0], colors[img, g, 1], colors[img, g, 2], depths[img, g]
            for py in range(by0, by1):
                dy = w - np.float32(py + 0.5)
                row = (py - y0) * tw - x0
                for px in range(bx0, bx1):
                    p = row + px
                    if done[p]:
                        continue
                    dx = u - np.float32(px + 0.5)
                    sigma = np.float32(0.5) * (ca * dx * dx + cc * dy * dy) + cb * dx * dy
                    if sigma < 0:
                        continue
                    alpha = min(MAX_ALPHA, o * np.float32(math.exp(-sigma)))
                    if alpha < ALPHA_THRESHOLD:
                        continue
                    t = trans[p]
                    next_t = t * (np.float32(1.0) - alpha)
                    if next_t <= MIN_TRANSMITTANCE:
                        done[p] = True
                        num_done += 1
                        continue
                    vis = alpha * t
                    acc[p, 0] += cr * vis
                    acc[p, 1] += cg * vis
                    acc[p, 2] += cbl * vis
                    acc[p, 3] += cz * vis
                    trans[p] = next_t
            if num_done == npix:
                break
        for p in range(npix):
            py, px = y0 + p // tw, x0 + p % tw
            out[img, py, px, 0] = acc[p, 0]
            out[img, py, px, 1] = acc[p, 1]
            out[img, py, px, 2] = acc[p, 2]
            out[img, py, px, 3] = acc[p, 3]
            out[img, py, px, 4] = np.float32(1.0) - trans[p]
