"""Read a raw 3DGS capture in any of the formats captures come in, as one `GaussianScene`.

* INRIA `.ply` (s2e.rendering.ply) and antimatter15 `.splat` (s2e.rendering.splat_file);
* PlayCanvas SOG: a `.sog` bundle, a folder holding `meta.json`, or that `meta.json` (read by gsply);
* streamed SOG with levels of detail: a `lod-meta.json` beside one SOG folder per chunk and level. Every
  chunk of one level is read and joined (`lod_level`: 0 is the finest; None: the coarsest, which a CPU
  renders fastest).

SOG stores log scales and logit opacities as PLY does; they become linear here, as every reader in this
package returns them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch

from .gaussians import GaussianScene
from .ply import PlyError, load_ply
from .splat_file import load_splat

SUFFIXES = (".ply", ".splat", ".sog", "meta.json", "lod-meta.json")


def load_capture(path: str | Path, lod_level: int | None = None) -> GaussianScene:
    """The capture at `path` (see the module docstring); a `PlyError` line names the file and the problem."""
    path = Path(path)
    if not path.exists():
        raise PlyError(f"{path}: capture file not found")
    if path.name == "lod-meta.json":
        return load_lod_sog(path, lod_level)
    if path.is_dir() and (path / "lod-meta.json").is_file():
        return load_lod_sog(path / "lod-meta.json", lod_level)
    if path.suffix.lower() == ".splat":
        return load_splat(path)
    if path.suffix.lower() == ".ply":
        return load_ply(path)
    if path.suffix.lower() == ".sog" or path.name == "meta.json" or (path.is_dir() and (path / "meta.json").is_file()):
        return load_sog(path)
    raise PlyError(f"{path}: not a 3DGS capture this reader knows: give a .ply, .splat, .sog, a SOG meta.json or "
                   "lod-meta.json")


def load_sog(path: str | Path) -> GaussianScene:
    """A SOG bundle, folder or meta.json (versions 1 and 2)."""
    import gsply

    try:
        data = gsply.sogread(str(path))
    except (ValueError, KeyError, OSError) as err:
        raise PlyError(f"{path}: not a readable SOG capture ({err})") from None
    return _scene(data)


def load_lod_sog(meta_path: Path, lod_level: int | None = None) -> GaussianScene:
    """Every chunk of one level of a streamed SOG (chunk folders named '<level>_<index>' in lod-meta.json)."""
    try:
        meta = json.loads(meta_path.read_text())
        levels, names = int(meta["lodLevels"]), list(meta["filenames"])
    except (ValueError, KeyError, TypeError) as err:
        raise PlyError(f"{meta_path}: not a streamed SOG lod-meta.json ({err})") from None
    level = levels - 1 if lod_level is None else lod_level
    if not 0 <= level < levels:
        raise PlyError(f"{meta_path}: level {lod_level} does not exist; this capture has levels 0 (finest) to "
                       f"{levels - 1}")
    chunks = [n for n in names if re.match(rf"^{level}_\d+/", n)]
    if not chunks:
        raise PlyError(f"{meta_path}: no chunk of level {level} is listed in filenames")
    return GaussianScene.cat([load_sog(meta_path.parent / n) for n in chunks])


def _scene(data) -> GaussianScene:
    """gsply's GSData (PLY conventions: log scales, logit opacities, quaternions w x y z) as a GaussianScene."""
    f = lambda a: torch.as_tensor(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    sh = f(data.sh0)[:, None, :]
    shn = getattr(data, "shN", None)
    if shn is not None and np.size(shn):
        sh = torch.cat([sh, f(shn).reshape(len(sh), -1, 3)], dim=1)
    quats = torch.nn.functional.normalize(f(data.quats), dim=-1)
    return GaussianScene(means=f(data.means), quats=quats, scales=f(data.scales).exp(),
                         opacities=torch.sigmoid(f(data.opacities)), sh=sh.contiguous())
