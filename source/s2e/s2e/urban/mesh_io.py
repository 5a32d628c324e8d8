"""Triangle meshes from OBJ and PLY files (what TSDF / Vid2Sim exports), read and written with numpy.

Only geometry is kept: vertex positions and triangles (polygons are fan-triangulated). Readers raise
`MeshError` (a ValueError) with one line naming the file and the problem, so that a scene bundle with
a broken collision mesh fails at load time with a message a user can act on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..rendering.ply import read_ply_header
from ..utils.files import write_bytes_atomic

MESH_SUFFIXES = (".ply", ".obj")


class MeshError(ValueError):
    """A file that is not a readable triangle mesh."""


def read_mesh(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(vertices [V, 3] float64, faces [F, 3] int64) of an OBJ or PLY triangle mesh."""
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".obj":
        v, f = _read_obj(path)
    elif suffix == ".ply":
        v, f = _read_ply(path)
    else:
        raise MeshError(f"{path}: unsupported mesh format '{suffix}'; use one of {', '.join(MESH_SUFFIXES)}")
    if len(v) == 0:
        raise MeshError(f"{path}: the mesh has no vertices")
    if len(f) == 0:
        raise MeshError(f"{path}: the mesh has no faces (a point cloud is not a collision mesh)")
    if not np.isfinite(v).all():
        raise MeshError(f"{path}: {int((~np.isfinite(v)).any(axis=1).sum())} vertices have non-finite coordinates")
    bad = (f < 0) | (f >= len(v))
    if bad.any():
        row = int(np.argwhere(bad.any(axis=1))[0][0])
        raise MeshError(f"{path}: face {row} refers to vertex {int(f[row][bad[row]][0])}, but there are {len(v)} "
                        "vertices")
    return v, f


def write_mesh(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """Write a triangle mesh atomically: binary little-endian PLY for .ply, ascii OBJ for .obj."""
    path = Path(path)
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    suffix = path.suffix.lower()
    if suffix == ".ply":
        header = ("ply\nformat binary_little_endian 1.0\n"
                  f"element vertex {len(v)}\nproperty float x\nproperty float y\nproperty float z\n"
                  f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n")
        rows = np.empty(len(f), dtype=[("n", "u1"), ("i", "<i4", (3,))])
        rows["n"], rows["i"] = 3, f
        payload = header.encode("ascii") + v.astype("<f4").tobytes() + rows.tobytes()
    elif suffix == ".obj":
        lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in v] + [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in f]
        payload = ("\n".join(lines) + "\n").encode("ascii")
    else:
        raise MeshError(f"{path}: unsupported mesh format '{suffix}'; use one of {', '.join(MESH_SUFFIXES)}")
    return write_bytes_atomic(path, payload)


def _read_obj(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Ascii OBJ: `v x y z [w]` and `f` with `a`, `a/b`, `a//c`, `a/b/c` and negative (relative) indices."""
    verts: list[list[float]] = []
    faces: list[list[int]] = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    for lineno, line in enumerate(text.splitlines(), 1):
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "v":
            try:
                verts.append([float(t) for t in tok[1:4]])
            except ValueError:
                raise MeshError(f"{path}:{lineno}: bad vertex line {line.strip()!r}") from None
            if len(verts[-1]) != 3:
                raise MeshError(f"{path}:{lineno}: vertex with {len(verts[-1])} coordinates, expected 3")
        elif tok[0] == "f":
            if len(tok) < 4:
                raise MeshError(f"{path}:{lineno}: face with {len(tok) - 1} vertices, expected at least 3")
            idx = []
            for t in tok[1:]:
                try:
                    i = int(t.split("/", 1)[0])
                except ValueError:
                    raise MeshError(f"{path}:{lineno}: bad face index {t!r}") from None
                if i == 0:
                    raise MeshError(f"{path}:{lineno}: face index 0 (OBJ indices start at 1)")
                idx.append(i - 1 if i > 0 else len(verts) + i)  # negative: relative to the vertices so far
            faces.extend([idx[0], idx[k], idx[k + 1]] for k in range(1, len(idx) - 1))
    return np.asarray(verts, dtype=np.float64).reshape(-1, 3), np.asarray(faces, dtype=np.int64).reshape(-1, 3)


def _read_ply(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """PLY with `vertex` (x, y, z) and `face` (vertex_indices / vertex_index list) elements, any format."""
    raw = path.read_bytes()
    fmt, elements, offset = read_ply_header(path, raw, MeshError)
    names = [e[0] for e in elements]
    if "vertex" not in names:
        raise MeshError(f"{path}: no 'element vertex' in the header")
    if "face" not in names:
        raise MeshError(f"{path}: no 'element face' in the header (a point cloud is not a collision mesh)")
    tokens = raw[offset:].split() if fmt == "ascii" else None
    pos = 0 if fmt == "ascii" else offset
    endian = ">" if fmt == "binary_big_endian" else "<"
    verts = faces = None
    for name, count, props in elements:
        if name == "vertex":
            missing = [c for c in "xyz" if c not in [p[0] for p in props]]
            if missing:
                raise MeshError(f"{path}: vertex element lacks {', '.join(missing)}")
        data, pos = (_ascii_element if fmt == "ascii" else _binary_element)(path, raw if tokens is None else tokens,
                                                                            pos, name, count, props, endian)
        if name == "vertex":
            verts = np.stack([data["x"], data["y"], data["z"]], axis=1).astype(np.float64)
        elif name == "face":
            key = next((p[0] for p in props if p[0] in ("vertex_indices", "vertex_index")), None)
            if key is None:
                raise MeshError(f"{path}: face element has no vertex_indices list")
            faces = _triangulate(data[key])
        if verts is not None and faces is not None:
            break  # later elements (edges, materials) are not needed
    return verts, faces


def _triangulate(polys) -> np.ndarray:
    """Fan-triangulate polygons (a list of index arrays, or an [F, 3] array that already is triangles)."""
    if isinstance(polys, np.ndarray):
        return polys.astype(np.int64)
    tris = [np.stack([p[np.zeros(len(p) - 2, int)], p[1:-1], p[2:]], axis=1) for p in polys if len(p) >= 3]
    return np.concatenate(tris).astype(np.int64) if tris else np.zeros((0, 3), np.int64)


def _ascii_element(path, tokens, pos, name, count, props, endian):
    out: dict = {p[0]: ([] if p[1] == "list" else np.empty(count)) for p in props}
    try:
        if all(p[1] != "list" for p in props):  # fixed width: one reshape
            n = len(props)
            block = np.asarray(tokens[pos: pos + count * n], dtype=np.float64)
            if len(block) < count * n:
                raise IndexError
            block = block.reshape(count, n)
            return {p[0]: block[:, i] for i, p in enumerate(props)}, pos + count * n
        for row in range(count):
            for p in props:
                if p[1] == "list":
                    k = int(tokens[pos])
                    out[p[0]].append(np.asarray(tokens[pos + 1: pos + 1 + k], dtype=np.int64))
                    if len(out[p[0]][-1]) < k:
                        raise IndexError
                    pos += 1 + k
                else:
                    out[p[0]][row] = float(tokens[pos])
                    pos += 1
    except (IndexError, ValueError):
        raise MeshError(f"{path}: truncated or malformed ascii data in element '{name}'") from None
    return out, pos


def _binary_element(path, raw, pos, name, count, props, endian):
    if all(p[1] != "list" for p in props):
        dtype = np.dtype([(p[0], endian + p[1]) for p in props])
        if len(raw) - pos < dtype.itemsize * count:
            raise MeshError(f"{path}: truncated: element '{name}' needs {dtype.itemsize * count} bytes, "
                            f"{len(raw) - pos} left")
        data = np.frombuffer(raw, dtype=dtype, count=count, offset=pos)
        return {p[0]: data[p[0]] for p in props}, pos + dtype.itemsize * count
    # A single list of triangles (the common case) is one fixed-size record per face.
    if len(props) == 1:
        _, _, ct, it = props[0]
        tri = np.dtype([("n", endian + ct), ("i", endian + it, (3,))])
        if len(raw) - pos >= tri.itemsize * count:
            data = np.frombuffer(raw, dtype=tri, count=count, offset=pos)
            if count == 0 or (data["n"] == 3).all():
                return {props[0][0]: data["i"].astype(np.int64)}, pos + tri.itemsize * count
    out: dict = {p[0]: [] for p in props}
    try:
        for _ in range(count):
            for p in props:
                if p[1] == "list":
                    k = int(np.frombuffer(raw, endian + p[2], 1, pos)[0])
                    pos += np.dtype(p[2]).itemsize
                    out[p[0]].append(np.frombuffer(raw, endian + p[3], k, pos).astype(np.int64))
                    pos += k * np.dtype(p[3]).itemsize
                else:
                    out[p[0]].append(float(np.frombuffer(raw, endian + p[1], 1, pos)[0]))
                    pos += np.dtype(p[1]).itemsize
    except ValueError:
        raise MeshError(f"{path}: truncated binary data in element '{name}'") from None
    return {k: (v if any(p[0] == k and p[1] == "list" for p in props) else np.asarray(v)) for k, v in out.items()}, pos
