"""Real captured scenes for NavBench-GS: a manifest of public captures, fetched and bundled on the user's machine.

No capture's bytes are in this repository (their sources state no license): the manifest names each
capture's source (a GitHub repository at a pinned commit), its files with their sha256, its attribution,
and the settings that turn it into a scene bundle (the capture tool's, s2e.urban.capture.SETTINGS).
What the tool derived from it and a person reviewed (bundle.yaml: alignment, walkable area, routes; the
collision mesh) is committed beside the manifest in scenes/<name>/. `download_scene` fetches the files
into a cache (atomically, each checked against its hash) and `assemble_scene` puts the capture's
Gaussians (cut to the scene's `max_gaussians`) under the reviewed files: every user gets the same
bundle, whatever their CPU's rounding would make of re-estimating it.

manifest.yaml (format_version 1)::

    format_version: 1
    scenes:
      - name: parking_lot
        source: {repository: owner/name, commit: <40 hex>}
        files: [{path: output.splat, sha256: <64 hex>}]
        capture: output.splat              # the file (or lod-meta.json) the capture reader opens
        lod_level: null                    # streamed SOG: the level of detail (null: the coarsest)
        attribution: "..."
        bundle: {scale: 1.0, walkable_ground: all, ...}
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
"""Files are fetched from <base_url>/<repository>/<commit>/<path>."""
FORMAT_VERSION = 1


class SceneFetchError(ValueError):
    """A manifest, download or hash problem: one line naming what and how to fix it."""


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str


@dataclass(frozen=True)
class RealScene:
    name: str
    repository: str
    commit: str
    files: tuple[SourceFile, ...]
    capture: str
    attribution: str
    lod_level: int | None = None
    bundle: dict = field(default_factory=dict)


def load_manifest(path: str | Path) -> list[RealScene]:
    """The manifest's scenes; SceneFetchError naming the file and the entry at fault."""
    path = Path(path)
    if not path.is_file():
        raise SceneFetchError(f"{path}: real-scene manifest not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SceneFetchError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if (not isinstance(raw, dict) or raw.get("format_version") != FORMAT_VERSION
            or not isinstance(raw.get("scenes"), list)):
        raise SceneFetchError(f"{path}: expected format_version {FORMAT_VERSION} and a list of scenes")
    scenes = []
    for i, s in enumerate(raw["scenes"]):
        where = f"{path}: scenes[{i}]"
        try:
            files = tuple(SourceFile(str(f["path"]), str(f["sha256"]).lower()) for f in s["files"])
            scene = RealScene(str(s["name"]), str(s["source"]["repository"]), str(s["source"]["commit"]), files,
                              str(s["capture"]), str(s["attribution"]), s.get("lod_level"), dict(s.get("bundle") or {}))
        except (KeyError, TypeError) as err:
            raise SceneFetchError(f"{where}: missing or malformed {err}; each scene needs name, source, files, "
                                  "capture, attribution") from None
        if not re.fullmatch(r"[0-9a-f]{40}", scene.commit):
            raise SceneFetchError(f"{where}: source.commit must be a full 40-digit commit hash, got {scene.commit!r}")
        bad = [f.path for f in files if not re.fullmatch(r"[0-9a-f]{64}", f.sha256)]
        if bad:
            raise SceneFetchError(f"{where}: file {bad[0]} needs a 64-digit sha256")
        if scene.capture not in {f.path for f in files}:
            raise SceneFetchError(f"{where}: capture {scene.capture} is not one of its files")
        scenes.append(scene)
    names = [s.name for s in scenes]
    if len(set(names)) != len(names):
        raise SceneFetchError(f"{path}: scene names repeat")
    return scenes


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_scene(scene: RealScene, cache: str | Path, base_url: str = DEFAULT_BASE_URL,
                   timeout: float = 60.0) -> Path:
    """The scene's files under cache/<name>/ (kept ones reused when their hash matches); returns the capture's path."""
    root = Path(cache) / scene.name
    for f in scene.files:
        target = root / f.path
        if target.is_file() and sha256_of(target) == f.sha256:
            continue
        url = f"{base_url.rstrip('/')}/{scene.repository}/{scene.commit}/{f.path}"
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
                while block := response.read(1 << 20):
                    out.write(block)
        except urllib.error.HTTPError as err:
            part.unlink(missing_ok=True)
            raise SceneFetchError(f"{scene.name}: {url} answered HTTP {err.code}: the source moved; check the manifest "
                                  "entry") from None
        except (urllib.error.URLError, OSError) as err:
            part.unlink(missing_ok=True)
            reason = getattr(err, "reason", err)
            raise SceneFetchError(f"{scene.name}: cannot reach {url} ({reason}): offline? the scenes are fetched once, "
                                  f"then read from {Path(cache)}") from None
        got = sha256_of(part)
        if got != f.sha256:
            part.unlink(missing_ok=True)
            raise SceneFetchError(f"{scene.name}: {f.path} from {url} has sha256 {got[:16]}..., the manifest says "
                                  f"{f.sha256[:16]}...: the file changed at its source; nothing was kept")
        os.replace(part, target)
    return root / scene.capture


def derived_dir(manifest: str | Path, scene: RealScene) -> Path:
    """The folder of the scene's reviewed, derived bundle files (bundle.yaml and collision mesh)."""
    return Path(manifest).parent / "scenes" / scene.name


def assemble_scene(scene: RealScene, capture: Path, derived: Path, out: str | Path) -> Path:
    """The scene's bundle at `out`: the reviewed files of `derived` with the capture's Gaussians (cut to
    max_gaussians)."""
    from ..rendering.capture_files import load_capture
    from ..urban.capture_budget import prune_to_budget
    from ..urban.scene_bundle import BUNDLE_FILE, bundle_with_gaussians

    if not (derived / BUNDLE_FILE).is_file():
        raise SceneFetchError(f"{scene.name}: no reviewed bundle in {derived}: make it with fetch_navbench_scenes.py "
                              f"--remake {scene.name}")
    g = load_capture(capture, scene.lod_level)
    if scene.bundle.get("max_gaussians"):
        g = prune_to_budget(g, int(scene.bundle["max_gaussians"]))
    return bundle_with_gaussians(derived, g, out)


def remake_scene(scene: RealScene, capture: Path, cfg, out: str | Path, derived: Path):
    """Maintainers: run the capture tool on the capture (CaptureCfg `cfg`), write its bundle and previews to `out`, and
    make its bundle.yaml and collision mesh the scene's reviewed files in `derived` (to review and commit). Returns the
    tool's CaptureBundle."""
    import shutil

    from ..rendering.capture_files import load_capture
    from ..urban.capture import build_capture_bundle
    from ..urban.capture_preview import write_previews
    from ..urban.scene_bundle import BUNDLE_FILE

    result = build_capture_bundle(load_capture(capture, scene.lod_level), out, cfg, name=scene.name)
    write_previews(result.bundle, cfg.route_clearance)
    derived.mkdir(parents=True, exist_ok=True)
    for name in (BUNDLE_FILE, "collision.ply"):
        shutil.copyfile(Path(out) / name, derived / name)
    return result
