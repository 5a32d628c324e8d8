"""3DGS PLY reading and writing (INRIA layout), its error messages, and rigid transforms of scenes."""

import math

import numpy as np
import pytest
import torch
from plyfile import PlyData, PlyElement

from s2e.rendering import GaussianScene, PlyError, load_ply, render, save_ply
from s2e.rendering.cameras import look_at
from s2e.rendering.transforms import quat_from_axis_angle, quat_to_rotmat

SH_C0 = 0.28209479177387814


def random_scene(seed: int, n: int, degree: int, centre=(0.0, 0.0, 0.0), spread=1.0) -> GaussianScene:
    g = torch.Generator().manual_seed(seed)
    return GaussianScene(
        means=torch.tensor(centre) + spread * torch.randn(n, 3, generator=g),
        quats=torch.randn(n, 4, generator=g) * 2.0,  # unnormalized on purpose
        scales=torch.exp(torch.randn(n, 3, generator=g) * 0.5 - 2.5),
        opacities=0.02 + 0.96 * torch.rand(n, generator=g),
        sh=torch.randn(n, (degree + 1) ** 2, 3, generator=g) * 0.4,
    )


def unit_quats_same_rotation(a: torch.Tensor, b: torch.Tensor, atol=1e-6):
    """q and -q are the same rotation: compare after normalizing and aligning the signs."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    sign = torch.sign((a * b).sum(-1, keepdim=True))
    torch.testing.assert_close(a, sign * b, atol=atol, rtol=0)


def inria_vertex_array(means, dc, rest, opacity_logit, log_scales, rots, dtype_char="<f4", extra=()):
    """A structured array in the INRIA 3DGS layout, built independently of s2e.rendering.ply.

    rest is [N, 3, K-1] (channel-major, as stored: f_rest index = channel * (K-1) + coeff).
    """
    n, _, k_rest = rest.shape
    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    names += [f"f_rest_{i}" for i in range(3 * k_rest)]
    names += ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    dtype = [(name, dtype_char) for name in names] + list(extra)
    arr = np.zeros(n, dtype=dtype)
    for i, c in enumerate("xyz"):
        arr[c] = means[:, i]
    for c in range(3):
        arr[f"f_dc_{c}"] = dc[:, c]
        for j in range(k_rest):
            arr[f"f_rest_{c * k_rest + j}"] = rest[:, c, j]
    arr["opacity"] = opacity_logit
    for i in range(3):
        arr[f"scale_{i}"] = log_scales[:, i]
    for i in range(4):
        arr[f"rot_{i}"] = rots[:, i]
    return arr


def random_inria_arrays(seed: int, n: int, degree: int):
    rng = np.random.default_rng(seed)
    k_rest = (degree + 1) ** 2 - 1
    return dict(
        means=rng.normal(size=(n, 3)).astype(np.float32),
        dc=rng.normal(size=(n, 3)).astype(np.float32),
        # distinct, structured values so a wrong layout cannot match by chance
        rest=(np.arange(n * 3 * k_rest).reshape(n, 3, k_rest) * 1e-3
              + rng.normal(size=(n, 3, k_rest)) * 0.1).astype(np.float32),
        opacity_logit=rng.normal(scale=2.0, size=n).astype(np.float32),
        log_scales=rng.normal(loc=-3.0, scale=0.7, size=(n, 3)).astype(np.float32),
        rots=(rng.normal(size=(n, 4)) * 3.0).astype(np.float32),
    )


def check_loaded_against_inria(scene: GaussianScene, a: dict, atol=1e-6):
    n = a["means"].shape[0]
    k_rest = a["rest"].shape[2]
    assert scene.num_gaussians == n
    assert scene.sh.shape == (n, k_rest + 1, 3)
    assert scene.sh_degree == math.isqrt(k_rest + 1) - 1
    np.testing.assert_allclose(scene.means.numpy(), a["means"], atol=atol, rtol=0)
    np.testing.assert_allclose(scene.opacities.numpy(), 1 / (1 + np.exp(-a["opacity_logit"].astype(np.float64))),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(scene.scales.numpy(), np.exp(a["log_scales"].astype(np.float64)), rtol=1e-5)
    rots = a["rots"].astype(np.float64)
    np.testing.assert_allclose(scene.quats.numpy(), rots / np.linalg.norm(rots, axis=-1, keepdims=True), atol=1e-6)
    np.testing.assert_allclose(scene.quats.norm(dim=-1).numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(scene.sh[:, 0, :].numpy(), a["dc"], atol=atol, rtol=0)
    # sh[n, 1 + j, c] = f_rest[c * (K-1) + j]
    for c in range(3):
        for j in range(k_rest):
            np.testing.assert_allclose(scene.sh[:, 1 + j, c].numpy(), a["rest"][:, c, j], atol=atol, rtol=0)


# --------------------------------------------------------------------------------------------- round trip

@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_save_load_round_trip(tmp_path, degree):
    scene = random_scene(10 + degree, 257, degree)
    path = tmp_path / "sub" / f"scene_d{degree}.ply"
    assert save_ply(scene, path) == path
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # written atomically: no .tmp left
    loaded = load_ply(path)
    assert loaded.sh_degree == degree and loaded.num_gaussians == 257
    torch.testing.assert_close(loaded.means, scene.means, atol=1e-6, rtol=0)
    torch.testing.assert_close(loaded.opacities, scene.opacities, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(loaded.scales, scene.scales, rtol=1e-5, atol=1e-9)
    unit_quats_same_rotation(loaded.quats, scene.quats)
    torch.testing.assert_close(loaded.quats.norm(dim=-1), torch.ones(257), atol=1e-6, rtol=0)
    torch.testing.assert_close(loaded.sh, scene.sh, atol=1e-6, rtol=0)

    # overwriting an existing file works and is atomic too
    save_ply(scene.select(slice(0, 5)), path)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert load_ply(path).num_gaussians == 5


def test_saved_file_is_inria_binary_little_endian(tmp_path):
    """What we write is readable by plyfile, in the INRIA layout (channel-major f_rest, logits, logs)."""
    scene = random_scene(3, 40, 3)
    path = save_ply(scene, tmp_path / "s.ply")
    ply = PlyData.read(str(path))
    assert ply.byte_order == "<" and not ply.text
    v = ply["vertex"].data
    names = v.dtype.names
    assert [f"f_rest_{i}" for i in range(45)] == [n for n in names if n.startswith("f_rest_")]
    for c in range(3):
        for j in range(15):
            np.testing.assert_allclose(v[f"f_rest_{c * 15 + j}"], scene.sh[:, 1 + j, c].numpy(), atol=1e-7)
    np.testing.assert_allclose(1 / (1 + np.exp(-v["opacity"].astype(np.float64))), scene.opacities.numpy(), rtol=1e-5)
    np.testing.assert_allclose(np.exp(v["scale_1"].astype(np.float64)), scene.scales[:, 1].numpy(), rtol=1e-5)


# ------------------------------------------------------------------------------ files written by plyfile

def test_load_degree3_written_by_plyfile(tmp_path):
    a = random_inria_arrays(7, 123, 3)
    extra = [("red", "u1"), ("confidence", "<f8")]  # extra properties must be ignored
    arr = inria_vertex_array(**a, extra=extra)
    arr["red"] = 200
    arr["confidence"] = 0.5
    path = tmp_path / "inria.ply"
    PlyData([PlyElement.describe(arr, "vertex")], byte_order="<", comments=["written by plyfile"]).write(str(path))
    scene = load_ply(path)
    assert scene.sh.shape == (123, 16, 3) and scene.sh.dtype == torch.float32
    check_loaded_against_inria(scene, a)
    # degree-0 colour convention: RGB = 0.5 + C0 * f_dc
    rgb = 0.5 + SH_C0 * scene.sh[:, 0, :]
    np.testing.assert_allclose(rgb.numpy(), 0.5 + SH_C0 * a["dc"], atol=1e-6)


def test_load_big_endian_written_by_plyfile(tmp_path):
    a = random_inria_arrays(8, 64, 3)
    arr = inria_vertex_array(**a, dtype_char=">f4")
    path = tmp_path / "big.ply"
    PlyData([PlyElement.describe(arr, "vertex")], byte_order=">").write(str(path))
    assert b"binary_big_endian" in path.read_bytes()[:100]
    check_loaded_against_inria(load_ply(path), a)


def test_load_ascii_written_by_plyfile(tmp_path):
    a = random_inria_arrays(9, 30, 2)
    arr = inria_vertex_array(**a)
    path = tmp_path / "text.ply"
    PlyData([PlyElement.describe(arr, "vertex")], text=True).write(str(path))
    assert b"format ascii" in path.read_bytes()[:100]
    scene = load_ply(path)
    assert scene.sh_degree == 2
    check_loaded_against_inria(scene, a, atol=1e-5)


def test_load_double_precision_properties(tmp_path):
    a = random_inria_arrays(11, 20, 1)
    arr = inria_vertex_array(**a, dtype_char="<f8")
    path = tmp_path / "double.ply"
    PlyData([PlyElement.describe(arr, "vertex")]).write(str(path))
    scene = load_ply(path)
    assert scene.means.dtype == torch.float32
    check_loaded_against_inria(scene, a)


# ------------------------------------------------------------------------------------------ corrupt files

def _write_inria(path, degree=1, n=10, drop=(), f_rest=None, mutate=None):
    a = random_inria_arrays(5, n, degree)
    arr = inria_vertex_array(**a)
    if f_rest is not None:  # replace the f_rest properties by `f_rest` of them
        names = [nm for nm in arr.dtype.names if not nm.startswith("f_rest_")]
        names = names[:9] + [f"f_rest_{i}" for i in range(f_rest)] + names[9:]
        new = np.zeros(n, dtype=[(nm, "<f4") for nm in names])
        for nm in names:
            new[nm] = arr[nm] if nm in arr.dtype.names else 0.1
        arr = new
    if drop:
        keep = [nm for nm in arr.dtype.names if nm not in drop]
        new = np.zeros(n, dtype=[(nm, "<f4") for nm in keep])
        for nm in keep:
            new[nm] = arr[nm]
        arr = new
    if mutate:
        mutate(arr)
    PlyData([PlyElement.describe(arr, "vertex")]).write(str(path))
    return path


def _not_ply(p):
    p.write_bytes(b"this is not a point cloud\n" * 20)


def _truncated(p):
    save_ply(random_scene(1, 50, 2), p)
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) - 100])


def _truncated_ascii(p):
    arr = inria_vertex_array(**random_inria_arrays(2, 12, 0))
    PlyData([PlyElement.describe(arr, "vertex")], text=True).write(str(p))
    lines = p.read_bytes().splitlines(keepends=True)
    p.write_bytes(b"".join(lines[:-3]))


def _nan_value(arr):
    arr["scale_1"][3] = np.nan


def _inf_value(arr):
    arr["x"][0] = np.inf


def _zero_quat(arr):
    for i in range(4):
        arr[f"rot_{i}"][6] = 0.0


def _gapped_f_rest(p):
    arr = inria_vertex_array(**random_inria_arrays(4, 8, 1))
    names = [nm if nm != "f_rest_4" else "f_rest_44" for nm in arr.dtype.names]
    arr.dtype.names = names
    PlyData([PlyElement.describe(arr, "vertex")]).write(str(p))


CORRUPT = {
    "not_a_ply": (_not_ply, r"not a PLY"),
    "empty_file": (lambda p: p.write_bytes(b""), r"not a PLY"),
    "truncated_binary": (_truncated, r"truncated"),
    "truncated_ascii": (_truncated_ascii, r"truncated"),
    "missing_opacity": (lambda p: _write_inria(p, drop=("opacity",)), r"missing.*opacity"),
    "missing_rot_and_scale": (lambda p: _write_inria(p, drop=("rot_3", "scale_0")), r"missing.*scale_0.*rot_3"),
    "f_rest_10": (lambda p: _write_inria(p, f_rest=10), r"10 f_rest"),
    "f_rest_12": (lambda p: _write_inria(p, f_rest=12), r"12 f_rest.*(degree|0, 9, 24 or 45)"),
    "f_rest_gap": (_gapped_f_rest, r"f_rest.*numbered"),
    "nan_scale": (lambda p: _write_inria(p, mutate=_nan_value), r"non-finite.*scales.*vertex 3"),
    "inf_mean": (lambda p: _write_inria(p, mutate=_inf_value), r"non-finite.*means"),
    "zero_quaternion": (lambda p: _write_inria(p, mutate=_zero_quat), r"zero-length.*quaternion"),
    "missing_file": (lambda p: None, r"not found"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_ply_raises_one_line_error(tmp_path, case):
    make, pattern = CORRUPT[case]
    path = tmp_path / f"broken_{case}.ply"
    make(path)
    with pytest.raises(PlyError, match=pattern) as info:
        load_ply(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert path.name in message, message
    assert isinstance(info.value, ValueError)  # PlyError is a ValueError for callers that catch those


def test_select_subsets_every_field():
    scene = random_scene(6, 12, 2)
    idx = torch.tensor([3, 0, 7])
    sub = scene.select(idx)
    for name in ("means", "quats", "scales", "opacities", "sh"):
        torch.testing.assert_close(getattr(sub, name), getattr(scene, name)[idx], rtol=0, atol=0)
    batched = GaussianScene.stack_padded([scene, random_scene(7, 9, 1)])
    sub = batched.select(slice(2, 5))
    assert sub.batch_shape == (2,) and sub.num_gaussians == 3
    torch.testing.assert_close(sub.sh, batched.sh[:, 2:5], rtol=0, atol=0)
    torch.testing.assert_close(sub.opacities, batched.opacities[:, 2:5], rtol=0, atol=0)


def test_save_ply_rejects_batched_scene(tmp_path):
    scene = random_scene(0, 10, 0)
    batched = GaussianScene(*(t[None].expand(2, *t.shape) for t in
                              (scene.means, scene.quats, scene.scales, scene.opacities, scene.sh)))
    with pytest.raises(ValueError, match="batch"):
        save_ply(batched, tmp_path / "b.ply")
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------ rigid transforms



def transform_camera(view: torch.Tensor, rotation: torch.Tensor, translation: torch.Tensor, scale: float):
    """The camera that sees x' = s R x + t as `view` sees x (its camera coordinates are scaled by s)."""
    rc, tc = view[:3, :3], view[:3, 3]
    new = torch.eye(4, dtype=view.dtype)
    new[:3, :3] = rc @ rotation.T
    new[:3, 3] = scale * tc - rc @ rotation.T @ translation
    return new


@pytest.mark.parametrize("degree", [0, 2, 3])
def test_transformed_scene_renders_like_original(degree):
    scene = random_scene(20 + degree, 300, degree, spread=0.8)
    scene.sh[:, 1:, :] *= 2.0  # strong view dependence
    rotation = quat_to_rotmat(quat_from_axis_angle(torch.nn.functional.normalize(torch.tensor([0.3, -0.8, 0.5]), dim=0),
                                                   torch.tensor(2.1))).double()
    translation = torch.tensor([4.0, -2.5, 1.5], dtype=torch.float64)
    scale = 1.7
    moved = scene.transformed(rotation.float(), translation.float(), scale)
    assert moved.sh.shape == scene.sh.shape

    views = torch.stack([look_at((3.0, 1.0, 1.0), (0, 0, 0), dtype=torch.float64),
                         look_at((-1.0, -3.0, 2.0), (0.1, 0.2, 0), dtype=torch.float64)])
    views_moved = torch.stack([transform_camera(v, rotation, translation, scale) for v in views])
    # the moved cameras see the moved scene's means exactly where the original cameras saw the original ones
    cam = (views[:, None, :3, :3] @ scene.means.double()[None, :, :, None])[..., 0] + views[:, None, :3, 3]
    cam_moved = ((views_moved[:, None, :3, :3] @ moved.means.double()[None, :, :, None])[..., 0]
                 + views_moved[:, None, :3, 3])
    torch.testing.assert_close(cam_moved, scale * cam, atol=1e-4, rtol=1e-5)

    K = torch.tensor([[70.0, 0, 40.0], [0, 70.0, 30.0], [0, 0, 1]]).expand(2, 3, 3)
    w, h = 80, 60
    a = render(scene, views.float(), K, w, h, backend="cpu")
    b = render(moved, views_moved.float(), K, w, h, backend="cpu")
    assert (a.alpha > 0.5).float().mean() > 0.2  # the scene covers a good part of both images
    assert (a.rgb - b.rgb).abs().max() < 2e-4
    assert (a.rgb - b.rgb).abs().mean() < 1e-5
    assert (a.alpha - b.alpha).abs().max() < 2e-4
    hit = a.alpha[..., 0] > 0.05
    assert (b.depth[hit] / (scale * a.depth[hit]) - 1).abs().max() < 1e-3

    if degree > 0:
        # Not rotating the SH (keeping the original coefficients) must give visibly different colours,
        # so the comparison above really tests rotate_sh.
        unrotated = GaussianScene(moved.means, moved.quats, moved.scales, moved.opacities, scene.sh)
        c = render(unrotated, views_moved.float(), K, w, h, backend="cpu")
        assert (c.rgb - a.rgb).abs().mean() > 100 * (b.rgb - a.rgb).abs().mean() + 1e-3


def test_rotate_sh_matches_rotated_evaluation():
    """c'(d) = c(R^T d) for the rotated coefficients, checked on random directions for degree 3."""
    from s2e.rendering.sh import sh_to_rgb
    from s2e.rendering.transforms import rotate_sh

    g = torch.Generator().manual_seed(4)
    sh = torch.randn(5, 16, 3, generator=g, dtype=torch.float64) * 0.2
    rotation = quat_to_rotmat(torch.tensor([0.7, -0.2, 0.5, 0.4], dtype=torch.float64))
    dirs = torch.randn(5, 3, generator=g, dtype=torch.float64)
    rotated = rotate_sh(sh, rotation)
    # keep the values away from the clamp at 0 so the comparison is linear
    sh[:, 0, :] += 5.0
    rotated[:, 0, :] += 5.0
    torch.testing.assert_close(sh_to_rgb(rotated, dirs), sh_to_rgb(sh, dirs @ rotation), atol=1e-8, rtol=0)
    assert (sh_to_rgb(rotated, dirs) - sh_to_rgb(sh, dirs)).abs().max() > 1e-2
