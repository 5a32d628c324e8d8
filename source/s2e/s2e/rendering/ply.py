"""INRIA 3DGS PLY files (the format of the reference trainer, gsplat, nerfstudio and Vid2Sim).

Vertex properties: x y z [nx ny nz] f_dc_0..2 f_rest_* opacity scale_0..2 rot_0..3, with opacity as a
logit, scales as logs, rot as a wxyz quaternion, and f_rest stored channel-major ([N, 3, K-1]).
Extra properties are ignored. Every problem is reported as one `PlyError` line naming the file.
`read_ply_header` parses the header of any PLY file (any elements, list properties), so that
other PLY readers, such as the collision-mesh reader, share it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ..utils.files import write_bytes_atomic
from .gaussians import GaussianScene, sh_degree_from_coeffs

PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
    "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}
REQUIRED = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
            "rot_0", "rot_1", "rot_2", "rot_3"]


class PlyError(ValueError):
    """A PLY file that is not a readable 3DGS scene."""


def read_ply_header(path: Path, raw: bytes, error: type[ValueError] = PlyError,
                    expected: str = "") -> tuple[str, list, int]:
    """(format, [(element, count, properties)], body offset) of any PLY file's header.

    A property is (name, numpy type) or (name, "list", count type, item type). Problems raise `error`
    (a ValueError class: `PlyError` here, the caller's own for other kinds of PLY content) with one
    line naming the file; `expected` ends the message for a file that is no PLY at all.
    """
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0:
        raise error(f"{path}: not a PLY file (no 'ply' magic or no 'end_header'){expected}")
    body = raw.index(b"\n", end) + 1 if b"\n" in raw[end:] else len(raw)
    fmt, elements = None, []
    for line in raw[:end].decode("ascii", errors="replace").splitlines()[1:]:
        tok = line.split()
        if not tok or tok[0] in ("comment", "obj_info"):
            continue
        if tok[0] == "format":
            fmt = tok[1] if len(tok) > 1 else None
        elif tok[0] == "element":
            elements.append((tok[1], int(tok[2]), []))
        elif tok[0] == "property":
            if not elements:
                raise error(f"{path}: property before any element in the header")
            if tok[1] == "list":
                if tok[2] not in PLY_TYPES or tok[3] not in PLY_TYPES:
                    raise error(f"{path}: unknown list types '{tok[2]} {tok[3]}' for '{tok[4]}'")
                elements[-1][2].append((tok[4], "list", PLY_TYPES[tok[2]], PLY_TYPES[tok[3]]))
            else:
                if tok[1] not in PLY_TYPES:
                    raise error(f"{path}: unknown property type '{tok[1]}' for '{tok[2]}'")
                elements[-1][2].append((tok[2], PLY_TYPES[tok[1]]))
    if fmt not in ("binary_little_endian", "binary_big_endian", "ascii"):
        raise error(f"{path}: unsupported PLY format '{fmt}'")
    return fmt, elements, body


def _vertex_header(path: Path, raw: bytes) -> tuple[str, int, list[tuple[str, str]], int]:
    """(format, vertex count, vertex properties, body offset) of a 3DGS PLY: scalar vertex element first."""
    fmt, elements, body = read_ply_header(path, raw, expected="; expected a 3DGS .ply scene")
    vertex = next((e for e in elements if e[0] == "vertex"), None)
    if vertex is None:
        raise PlyError(f"{path}: no 'element vertex' in the header")
    for prop in vertex[2]:
        if prop[1] == "list":
            raise PlyError(f"{path}: vertex property '{prop[0]}' is a list; a 3DGS PLY has scalar properties only")
    if elements[0][0] != "vertex":
        raise PlyError(f"{path}: the vertex element must come first (found '{elements[0][0]}')")
    return fmt, vertex[1], vertex[2], body


def read_ply_vertices(path: str | Path) -> dict[str, np.ndarray]:
    """All vertex properties of a PLY file as float32 arrays, validated for size."""
    path = Path(path)
    if not path.is_file():
        raise PlyError(f"{path}: file not found")
    raw = path.read_bytes()
    fmt, count, props, start = _vertex_header(path, raw)
    names = [p[0] for p in props]
    if fmt == "ascii":
        text = raw[start:].decode("ascii", errors="replace").split()
        if len(text) < count * len(props):
            raise PlyError(f"{path}: truncated: {len(text)} values for {count} vertices x {len(props)} properties")
        data = np.asarray(text[: count * len(props)], dtype=np.float64).reshape(count, len(props))
        return {n: data[:, i].astype(np.float32) for i, n in enumerate(names)}
    endian = "<" if fmt == "binary_little_endian" else ">"
    dtype = np.dtype([(n, endian + t) for n, t in props])
    need = dtype.itemsize * count
    if len(raw) - start < need:
        raise PlyError(f"{path}: truncated: {len(raw) - start} bytes of vertex data, the header promises {need} "
                       f"({count} vertices x {dtype.itemsize} bytes)")
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=start)
    return {n: data[n].astype(np.float32) for n in names}


def load_ply(path: str | Path, device=None) -> GaussianScene:
    """Read a 3DGS PLY into a `GaussianScene` (activated values, normalized quaternions)."""
    path = Path(path)
    v = read_ply_vertices(path)
    missing = [n for n in REQUIRED if n not in v]
    if missing:
        raise PlyError(f"{path}: missing 3DGS properties {', '.join(missing)}; is this a Gaussian-splat PLY?")
    rest_names = sorted((n for n in v if n.startswith("f_rest_")), key=lambda n: int(re.sub(r"\D", "", n)))
    if [int(n[7:]) for n in rest_names] != list(range(len(rest_names))):
        raise PlyError(f"{path}: f_rest_* properties are not numbered 0..{len(rest_names) - 1}")
    if len(rest_names) % 3:
        raise PlyError(f"{path}: {len(rest_names)} f_rest_* properties is not a multiple of 3 (RGB)")
    try:
        sh_degree_from_coeffs(len(rest_names) // 3 + 1)
    except ValueError:
        raise PlyError(f"{path}: {len(rest_names)} f_rest_* properties do not match an SH degree 0..3 "
                       f"(expected 0, 9, 24 or 45)") from None
    n = len(v["x"])
    stack = lambda names: np.stack([v[k] for k in names], axis=-1) if names else np.zeros((n, 0), np.float32)
    arrays = {
        "means": stack(["x", "y", "z"]),
        "dc": stack(["f_dc_0", "f_dc_1", "f_dc_2"]),
        "rest": stack(rest_names),
        "opacity": v["opacity"],
        "scales": stack(["scale_0", "scale_1", "scale_2"]),
        "quats": stack(["rot_0", "rot_1", "rot_2", "rot_3"]),
    }
    for name, a in arrays.items():
        bad = ~np.isfinite(a)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise PlyError(f"{path}: {int(bad.sum())} non-finite values in {name} (first at vertex {row})")
    norms = np.linalg.norm(arrays["quats"], axis=-1)
    if (norms < 1e-12).any():
        raise PlyError(f"{path}: {int((norms < 1e-12).sum())} zero-length rotation quaternions (rot_0..3)")
    k_rest = len(rest_names) // 3
    rest = arrays["rest"].reshape(n, 3, k_rest).transpose(0, 2, 1)  # channel-major -> [N, K-1, 3]
    sh = np.concatenate([arrays["dc"][:, None, :], rest], axis=1)
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), device=device)
    return GaussianScene(
        means=t(arrays["means"]),
        quats=t(arrays["quats"] / norms[:, None]),
        scales=t(np.exp(arrays["scales"])),
        opacities=t(1.0 / (1.0 + np.exp(-arrays["opacity"]))),
        sh=t(sh),
    )


def save_ply(scene: GaussianScene, path: str | Path) -> Path:
    """Write an unbatched scene as a binary little-endian 3DGS PLY, atomically."""
    if scene.means.dim() != 2:
        raise ValueError(f"save_ply takes one scene [N, ...], got batch shape {tuple(scene.batch_shape)}")
    path = Path(path)
    n, k = scene.num_gaussians, scene.sh.shape[-2]
    cpu = lambda x: x.detach().to("cpu", torch.float32).numpy()
    sh = cpu(scene.sh)
    opac = np.clip(cpu(scene.opacities), 1e-7, 1 - 1e-7)
    columns = {"x": cpu(scene.means)[:, 0], "y": cpu(scene.means)[:, 1], "z": cpu(scene.means)[:, 2],
               "nx": np.zeros(n, np.float32), "ny": np.zeros(n, np.float32), "nz": np.zeros(n, np.float32)}
    for c in range(3):
        columns[f"f_dc_{c}"] = sh[:, 0, c]
    rest = sh[:, 1:, :].transpose(0, 2, 1).reshape(n, 3 * (k - 1))  # [N, K-1, 3] -> channel-major
    for i in range(rest.shape[1]):
        columns[f"f_rest_{i}"] = rest[:, i]
    columns["opacity"] = np.log(opac / (1 - opac))
    log_scales = np.log(np.maximum(cpu(scene.scales), 1e-12))
    for i in range(3):
        columns[f"scale_{i}"] = log_scales[:, i]
    quats = cpu(scene.quats)
    for i in range(4):
        columns[f"rot_{i}"] = quats[:, i]
    data = np.empty(n, dtype=[(name, "<f4") for name in columns])
    for name, values in columns.items():
        data[name] = values
    header = "ply\nformat binary_little_endian 1.0\n" + f"element vertex {n}\n"
    header += "".join(f"property float {name}\n" for name in columns) + "end_header\n"
    return write_bytes_atomic(path, header.encode("ascii") + data.tobytes())
