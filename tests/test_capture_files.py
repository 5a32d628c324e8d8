"""Raw captures in every format a user brings: SOG and streamed SOG decode to the values the format specifies."""

import json
import math

import numpy as np
import pytest
import torch

from s2e.rendering.capture_files import load_capture
from s2e.rendering.ply import PlyError

imagecodecs = pytest.importorskip("imagecodecs")


def _webp(path, rgba):
    path.write_bytes(imagecodecs.webp_encode(np.ascontiguousarray(rgba, np.uint8), lossless=True))


def _sog(folder, means_u16, scale_idx, quat_rgba, sh_idx, alpha, mins, maxs, scale_book, sh_book):
    """A SOG version 2 folder of 4 Gaussians (a 2 x 2 image), written as the format specifies."""
    folder.mkdir(parents=True)
    img = (lambda a: np.c_[a, np.full((4, 4 - a.shape[1]), 255, np.uint8)].reshape(2, 2, 4) if a.shape[1] < 4
           else a.reshape(2, 2, 4))  # noqa: E731
    _webp(folder / "means_l.webp", img((means_u16 & 0xFF).astype(np.uint8)))
    _webp(folder / "means_u.webp", img((means_u16 >> 8).astype(np.uint8)))
    _webp(folder / "scales.webp", img(scale_idx.astype(np.uint8)))
    _webp(folder / "quats.webp", img(quat_rgba.astype(np.uint8)))
    _webp(folder / "sh0.webp", img(np.c_[sh_idx, alpha].astype(np.uint8)))
    meta = {"version": 2, "count": 4,
            "means": {"mins": mins, "maxs": maxs, "files": ["means_l.webp", "means_u.webp"]},
            "scales": {"codebook": scale_book, "files": ["scales.webp"]},
            "quats": {"files": ["quats.webp"]},
            "sh0": {"codebook": sh_book, "files": ["sh0.webp"]}}
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


def _example(folder, offset=0.0):
    mins, maxs = [-2.0 + offset, -1.0, 0.0], [2.0 + offset, 1.0, 3.0]
    means_u16 = np.array([[0, 32768, 65535], [65535, 0, 0], [16384, 49152, 1000], [32768, 32768, 32768]], np.uint32)
    scale_book = np.linspace(-6.0, 0.0, 256).tolist()
    sh_book = np.linspace(-2.0, 2.0, 256).tolist()
    scale_idx = np.array([[0, 128, 255], [10, 20, 30], [255, 255, 255], [1, 2, 3]])
    # largest component w (tag 252, the others ~0), x (253), y (254) and z (255)
    quat = np.array([[128, 128, 128, 252], [128, 128, 128, 253], [200, 60, 128, 254], [128, 128, 128, 255]])
    sh_idx = np.array([[0, 128, 255], [64, 64, 64], [200, 10, 100], [255, 255, 255]])
    alpha = np.array([[255], [128], [1], [200]])
    _sog(folder, means_u16, scale_idx, quat, sh_idx, alpha, mins, maxs, scale_book, sh_book)
    n = np.asarray(mins) + (np.asarray(maxs) - np.asarray(mins)) * means_u16 / 65535.0
    means = np.sign(n) * (np.exp(np.abs(n)) - 1.0)  # the format stores sign(x) ln(|x| + 1)
    return means, np.exp(np.asarray(scale_book)[scale_idx]), np.asarray(sh_book)[sh_idx], alpha[:, 0] / 255.0, quat


def test_a_sog_folder_decodes_as_the_format_specifies(tmp_path):
    means, scales, sh0, opacity, quat = _example(tmp_path / "scene")
    for path in (tmp_path / "scene", tmp_path / "scene" / "meta.json"):
        g = load_capture(path)
        assert g.num_gaussians == 4
        np.testing.assert_allclose(g.means.numpy(), means, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(g.scales.numpy(), scales, rtol=1e-5)
        np.testing.assert_allclose(g.sh[:, 0].numpy(), sh0, atol=1e-6)
        np.testing.assert_allclose(g.opacities.numpy(), opacity, atol=1e-5)
    # quaternions w x y z: the tag names the largest component, the bytes the other three in order, each (b / 255 * 2 -
    # 1) / sqrt 2
    q = g.quats.numpy()
    for k in range(4):
        assert int(np.abs(q[k]).argmax()) == quat[k, 3] - 252
    small = (quat[2, :3] / 255.0 * 2 - 1) / math.sqrt(2)
    np.testing.assert_allclose(q[2, [0, 1, 3]], small / np.linalg.norm(np.r_[small, math.sqrt(1 - (small ** 2).sum())]),
                               atol=1e-5)
    torch.testing.assert_close(g.quats.norm(dim=-1), torch.ones(4))


def test_a_streamed_sog_reads_every_chunk_of_one_level(tmp_path):
    root = tmp_path / "streamed"
    fine = [_example(root / f"0_{i}", offset=i) for i in range(2)]
    coarse = _example(root / "1_0", offset=5.0)
    (root / "lod-meta.json").write_text(json.dumps({"lodLevels": 2,
                                                    "filenames": ["0_0/meta.json", "1_0/meta.json", "0_1/meta.json"],
                                                    "tree": {}}))
    g = load_capture(root / "lod-meta.json")  # the coarsest level by default
    np.testing.assert_allclose(g.means.numpy(), coarse[0], rtol=1e-5, atol=1e-5)
    g = load_capture(root, lod_level=0)
    assert g.num_gaussians == 8
    np.testing.assert_allclose(g.means.numpy(), np.r_[fine[0][0], fine[1][0]], rtol=1e-5, atol=1e-5)
    with pytest.raises(PlyError, match="level 2 does not exist; this capture has levels 0 \\(finest\\) to 1"):
        load_capture(root, lod_level=2)


def test_an_unknown_or_broken_capture_is_one_line(tmp_path):
    (tmp_path / "scan.obj").write_text("v 0 0 0\n")
    with pytest.raises(PlyError, match="not a 3DGS capture this reader knows"):
        load_capture(tmp_path / "scan.obj")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "meta.json").write_text(json.dumps({"version": 2, "count": 4}))
    with pytest.raises(PlyError, match="not a readable SOG capture"):
        load_capture(tmp_path / "bad")
    with pytest.raises(PlyError, match="capture file not found"):
        load_capture(tmp_path / "none.sog")
