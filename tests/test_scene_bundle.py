"""Scene bundles: writer/loader round trip, alignment, meshes, the derived layout, episodes, errors."""

import math
import os

import numpy as np
import pytest
import torch
import yaml
from scipy import ndimage

from s2e.rendering.gaussians import GaussianScene
from s2e.rendering.ply import save_ply
from s2e.urban.bundle_layout import layout_from_mesh, rect_cover
from s2e.urban.geometry import footprint_distance
from s2e.urban.layout import BUILDING, SIDEWALK, UrbanLayoutCfg, collision_footprints, generate_layout
from s2e.urban.mesh_io import MeshError, read_mesh, write_mesh
from s2e.urban.pedestrians import PedestrianCfg, PedestrianCrowd, _rect_graph
from s2e.urban.procedural_bundle import EXAMPLE_CAPTURE, _box, export_procedural_bundle
from s2e.urban.routes import RouteCfg, RoutePlanner
from s2e.urban.scene_bundle import (
    Alignment,
    BundleEpisodes,
    BundleRoute,
    SceneBundleError,
    load_scene_bundle,
    plan_bundle_route,
    save_scene_bundle,
)

SIZE = 20.0


def small_gaussians(n=50, seed=0) -> GaussianScene:
    g = torch.Generator().manual_seed(seed)
    return GaussianScene(
        means=torch.rand(n, 3, generator=g) * 10 - 5,
        quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g), dim=-1),
        scales=torch.rand(n, 3, generator=g) * 0.2 + 0.01,
        opacities=torch.rand(n, generator=g) * 0.9 + 0.05,
        sh=torch.randn(n, 4, 3, generator=g) * 0.3,
    )


def street_mesh():
    """Ground over the tile, a 1 m box at (2.1, 0.1) and an 8 m tall building x in [6.1, 10] (no floor under
    either). Walls lie off the 0.25 m cell boundaries, where float rounding would pick either side."""
    verts = [np.array([[-10, -10, 0], [6.1, -10, 0], [6.1, 10, 0], [-10, 10, 0]], float)]
    faces = [np.array([[0, 1, 2], [0, 2, 3]])]
    for cx, cy, hx, hy, h in ((2.1, 0.1, 0.5, 0.5, 1.0), (8.05, 0.0, 1.95, 10.0, 8.0)):
        v, f = _box(cx, cy, 0.0, hx, hy, h)
        faces.append(np.asarray(f) + sum(len(x) for x in verts))
        verts.append(np.asarray(v, float))
    return np.concatenate(verts), np.concatenate(faces)


WALKABLE = [np.array([[-8, -8], [8, -8], [8, 8], [-8, 8]], float)]
HOLES = [np.array([[-6, -6], [-4, -6], [-4, -4], [-6, -4]], float)]
ROUTES = [BundleRoute(np.array([-6.0, 0.0]), np.array([4.0, 5.0]), np.array([[0.0, 6.0]])),
          BundleRoute(np.array([0.0, -6.0]), np.array([-2.0, 5.0]))]


def write_street(folder, capture: Alignment | None = None, **overrides):
    """The street scene stored in a capture frame (task -> capture = `capture`), aligned back by the bundle."""
    capture = capture or Alignment()
    to_cap = lambda xy: capture.apply(np.c_[np.asarray(xy, float).reshape(-1, 2),
                                            np.zeros(len(np.asarray(xy).reshape(-1, 2)))])
    v, f = street_mesh()
    g = small_gaussians()
    rot = torch.as_tensor(capture.rotation, dtype=torch.float32)
    kwargs = dict(
        name="street",
        gaussians=g.transformed(rot, torch.as_tensor(capture.translation, dtype=torch.float32), capture.scale),
        vertices=capture.apply(v), faces=f, size=SIZE,
        walkable=[to_cap(p) for p in WALKABLE], holes=[to_cap(p) for p in HOLES],
        routes=[BundleRoute(to_cap(r.start)[0], to_cap(r.goal)[0], to_cap(r.waypoints)) for r in ROUTES],
        alignment=capture.inverse(),
    )
    kwargs.update(overrides)
    return save_scene_bundle(folder, **kwargs)


def edit_yaml(folder, fn):
    path = folder / "bundle.yaml"
    spec = yaml.safe_load(path.read_text())
    fn(spec)
    path.write_text(yaml.safe_dump(spec))


# -- round trip and alignment ------------------------------------------------------------------------

def test_round_trip_identity(tmp_path):
    b = load_scene_bundle(write_street(tmp_path / "b"))
    g = small_gaussians()
    torch.testing.assert_close(b.gaussians.means, g.means, atol=1e-5, rtol=0)
    torch.testing.assert_close(b.gaussians.opacities, g.opacities, atol=1e-5, rtol=0)
    v, f = street_mesh()
    np.testing.assert_allclose(b.vertices[b.faces], v[f], atol=1e-5)
    assert b.name == "street" and b.size == SIZE and len(b.routes) == 2
    np.testing.assert_allclose(b.routes[0].start, [-6, 0])
    np.testing.assert_allclose(b.routes[0].waypoints, [[0, 6]])
    np.testing.assert_allclose(b.routes[1].goal, [-2, 5])


def test_alignment_maps_gaussians_mesh_walkable_and_routes_to_the_task_frame(tmp_path):
    ref = load_scene_bundle(write_street(tmp_path / "ref"))
    b = load_scene_bundle(write_street(tmp_path / "cap", capture=EXAMPLE_CAPTURE))
    assert not np.allclose(yaml.safe_load((tmp_path / "cap/bundle.yaml").read_text())["alignment"]["rotation"],
                           np.eye(3))
    torch.testing.assert_close(b.gaussians.means, ref.gaussians.means, atol=1e-4, rtol=0)
    torch.testing.assert_close(b.gaussians.scales, ref.gaussians.scales, atol=1e-5, rtol=1e-4)
    q, q_ref = b.gaussians.quats, ref.gaussians.quats
    assert torch.minimum((q - q_ref).abs().amax(-1), (q + q_ref).abs().amax(-1)).max() < 1e-4
    torch.testing.assert_close(b.gaussians.sh, ref.gaussians.sh, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(b.vertices[b.faces], ref.vertices[ref.faces], atol=1e-4)
    np.testing.assert_array_equal(b.layout.walkable, ref.layout.walkable)
    for r, r_ref in zip(b.routes, ref.routes):
        np.testing.assert_allclose(r.points, r_ref.points, atol=1e-6)


@pytest.mark.parametrize("form", ["yaw_deg", "quaternion"])
def test_yaw_and_quaternion_forms_equal_the_matrix(tmp_path, form):
    yaw = math.radians(40.0)
    capture = Alignment(np.array([[math.cos(yaw), -math.sin(yaw), 0], [math.sin(yaw), math.cos(yaw), 0], [0, 0, 1]]),
                        np.array([1.0, 2.0, 0.0]), 2.0)
    folder = write_street(tmp_path / "b", capture=capture)
    matrix = load_scene_bundle(folder)

    def to_form(spec):
        del spec["alignment"]["rotation"]
        spec["alignment"][form] = -40.0 if form == "yaw_deg" else [math.cos(-yaw / 2), 0.0, 0.0, math.sin(-yaw / 2)]

    edit_yaml(folder, to_form)
    other = load_scene_bundle(folder)
    np.testing.assert_allclose(other.vertices, matrix.vertices, atol=1e-5)
    np.testing.assert_allclose(other.routes[0].start, [-6, 0], atol=1e-6)


def test_writer_replaces_an_existing_bundle_and_leaves_no_temporaries(tmp_path):
    folder = write_street(tmp_path / "b")
    write_street(folder, name="second")
    assert load_scene_bundle(folder).name == "second"
    assert sorted(os.listdir(tmp_path)) == ["b"]
    with pytest.raises(SceneBundleError, match="size"):
        write_street(folder, name="third", size=-1.0)
    assert load_scene_bundle(folder).name == "second"
    assert sorted(os.listdir(tmp_path)) == ["b"]


# -- meshes ------------------------------------------------------------------------------------------------

def test_obj_faces_with_slashes_negative_indices_and_quads(tmp_path):
    p = tmp_path / "m.obj"
    p.write_text("# quad and triangle\nmtllib x.mtl\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvn 0 0 1\n"
                 "f 1/1/1 2/1/1 3/1/1 4/1/1\nv 2 2 2\nf -1//1 -3//1 -4//1\nf 2/1 3/1 5/1\n")
    v, f = read_mesh(p)
    assert v.shape == (5, 3)
    np.testing.assert_array_equal(f, [[0, 1, 2], [0, 2, 3], [4, 2, 1], [1, 2, 4]])


@pytest.mark.parametrize("suffix", [".ply", ".obj"])
def test_mesh_round_trip(tmp_path, suffix):
    v, f = street_mesh()
    got_v, got_f = read_mesh(write_mesh(tmp_path / f"m{suffix}", v, f))
    np.testing.assert_allclose(got_v, v, atol=1e-5)
    np.testing.assert_array_equal(got_f, f)


def test_ascii_and_big_endian_ply_with_polygons(tmp_path):
    header = ("ply\nformat {}\ncomment x\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
              "property uchar red\nelement face 2\nproperty list uchar int vertex_indices\nproperty uchar flags\n"
              "end_header\n")
    (tmp_path / "a.ply").write_text(header.format("ascii 1.0")
                                    + "0 0 0 1\n1 0 0 1\n1 1 0 1\n0 1 0 1\n4 0 1 2 3 7\n3 0 1 3 7\n")
    v, f = read_mesh(tmp_path / "a.ply")
    np.testing.assert_array_equal(f, [[0, 1, 2], [0, 2, 3], [0, 1, 3]])
    verts = np.zeros(4, dtype=[("x", ">f4"), ("y", ">f4"), ("z", ">f4"), ("red", "u1")])
    verts["x"] = [0, 1, 1, 0]
    face = b"".join(np.array([3], "u1").tobytes() + np.array(t, ">i4").tobytes() + b"\x07"
                    for t in ([0, 1, 2], [0, 2, 3]))
    (tmp_path / "b.ply").write_bytes(header.format("binary_big_endian 1.0").encode() + verts.tobytes() + face)
    v, f = read_mesh(tmp_path / "b.ply")
    np.testing.assert_allclose(v[:, 0], [0, 1, 1, 0])
    np.testing.assert_array_equal(f, [[0, 1, 2], [0, 2, 3]])


@pytest.mark.parametrize("content,message", [
    ("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 "
     "0\n1 0 0\n0 1 0\n", "no 'element face'"),
    ("ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
     "element face 1\nproperty list uchar int vertex_indices\nend_header\n\x00\x00", "truncated"),
    ("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\n"
     "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n3 0 1 5\n",
     "refers to vertex 5"),
    ("solid stl\n", "not a PLY file"),
])
def test_bad_ply_meshes(tmp_path, content, message):
    p = tmp_path / "m.ply"
    p.write_bytes(content.encode("latin-1"))
    with pytest.raises(MeshError, match=message) as err:
        read_mesh(p)
    assert str(p) in str(err.value) and "\n" not in str(err.value)


def test_bad_obj_index(tmp_path):
    (tmp_path / "m.obj").write_text("v 0 0 0\nv 1 0 0\nf 1 2 0\n")
    with pytest.raises(MeshError, match=r"m.obj:3: face index 0"):
        read_mesh(tmp_path / "m.obj")


# -- derived layout ------------------------------------------------------------------------------------

def test_layout_from_the_mesh_blocks_objects_and_building_interiors():
    v, f = street_mesh()
    layout = layout_from_mesh(v, f, SIZE, WALKABLE, HOLES)
    at = lambda x, y: tuple(layout.cell_of(np.array([x, y])))
    assert layout.walkable[at(0, 0)] and not layout.walkable[at(2, 0)]  # the box
    assert not layout.walkable[at(-5, -5)] and not layout.walkable[at(9, 0)]  # the hole; outside the polygon
    assert layout.semantic[at(8, 5)] == BUILDING  # interior: only the roof above it, no floor
    assert layout.semantic[at(0, 0)] == SIDEWALK
    # Footprints cover the box and the building with their heights, and nothing walkable.
    fp = collision_footprints(layout)
    heights = {round(float(h), 1) for h in fp[:, 5]}
    assert 1.0 in heights and 8.0 in heights
    from s2e.urban.layout import footprint_mask
    blocked = footprint_mask(layout.cell_centers(), fp)
    assert not (blocked & layout.walkable).any()
    assert blocked[at(2, 0)] and blocked[at(8, 5)]


def test_overhead_geometry_with_ground_beneath_does_not_block():
    v, f = street_mesh()
    awning_v, awning_f = _box(-2.0, 3.0, 0.0, 1.0, 1.0, 0.2)
    awning_v = np.asarray(awning_v) + [0, 0, 3.0]  # a slab floating 3-3.2 m up
    layout = layout_from_mesh(np.concatenate([v, awning_v]), np.concatenate([f, np.asarray(awning_f) + len(v)]), SIZE,
                              WALKABLE)
    assert layout.walkable[tuple(layout.cell_of(np.array([-2.0, 3.0])))]


def test_walk_rectangles_cover_where_a_pedestrian_fits_and_connect():
    cfg = UrbanLayoutCfg()
    cfg.obstacles.density = 1.5
    for seed in range(4):
        walkable = generate_layout(cfg, seed).walkable
        room = ndimage.binary_opening(walkable, structure=np.ones((3, 3), bool))
        assert ndimage.label(room)[1] == 1
        rects = rect_cover(walkable, 3)
        covered = np.zeros_like(walkable)
        for r0, c0, r1, c1 in rects:
            covered[r0:r1, c0:c1] = True
        np.testing.assert_array_equal(covered, room)
        hops, _, _ = _rect_graph(rects.astype(float))
        assert (hops < 10**6).all(), f"seed {seed}: walk rectangles are not connected"
    # A step where neither piece can grow into the other is bridged by a connector.
    step = np.zeros((9, 11), bool)
    step[1:5, 1:7] = step[5:8, 4:10] = True
    rects = rect_cover(step, 3)
    assert len(rects) >= 2 and (_rect_graph(rects.astype(float))[0] < 10**6).all()
    # Two rooms joined by a corridor narrower than a pedestrian stay apart.
    grid = np.zeros((12, 20), bool)
    grid[1:11, 1:8] = grid[1:11, 12:19] = True
    grid[5:7, 8:12] = True
    hops, _, _ = _rect_graph(rect_cover(grid, 3).astype(float))
    assert (hops >= 10**6).any()


def test_procedural_export_matches_its_block(tmp_path):
    folder = export_procedural_bundle(tmp_path / "b", seed=4, obstacle_density=1.5, num_routes=4,
                                      gaussians=small_gaussians())
    b = load_scene_bundle(folder)
    cfg = UrbanLayoutCfg()
    cfg.obstacles.density = 1.5
    ref = generate_layout(cfg, 4)
    agree = (b.layout.walkable == ref.walkable).mean()
    assert agree > 0.97, agree
    # Every building centre is blocked; routes are the block's sampled ones, back in the tile frame.
    ij = b.layout.cell_of(ref.buildings[:, :2])
    assert (b.layout.semantic[ij[:, 0], ij[:, 1]] == BUILDING).all()
    planner = RoutePlanner(ref, RouteCfg(clearance=1.0))
    rng = np.random.default_rng(4)
    for r in b.routes:
        ep = planner.sample_episode(rng)
        np.testing.assert_allclose(r.start, ep.start, atol=1e-4)
        np.testing.assert_allclose(r.goal, ep.goal, atol=1e-4)


def test_pedestrians_walk_the_bundle_layout(tmp_path):
    b = load_scene_bundle(export_procedural_bundle(tmp_path / "b", seed=2, obstacle_density=1.5, num_routes=1,
                                                   gaussians=small_gaussians()))
    layouts = [b.layout, b.layout]
    crowd = PedestrianCrowd(layouts, [collision_footprints(l) for l in layouts], PedestrianCfg(count=(8, 8)), "cpu",
                            seed=1, robot_radius=0.4)
    crowd.reset()
    start = crowd.pos.clone()
    for _ in range(100):
        crowd.step(0.1)
    assert (crowd.pos - start).norm(dim=-1).mean() > 2.0
    assert (crowd.min_separation() >= 2 * crowd.cfg.radius - 0.02).all()
    d, _ = footprint_distance(crowd.pos, crowd.obstacles, crowd.obstacle_valid)
    assert (d.min(-1).values > crowd.cfg.radius - 0.1).all()
    ij = b.layout.cell_of(crowd.pos.reshape(-1, 2).numpy())
    assert b.layout.walkable[ij[:, 0], ij[:, 1]].mean() > 0.95


# -- episodes ------------------------------------------------------------------------------------------

def test_bundle_episodes_follow_the_routes_and_repeat_under_a_seed(tmp_path):
    b = load_scene_bundle(write_street(tmp_path / "b"))
    planner = RoutePlanner(b.layout, RouteCfg(clearance=0.5))
    episodes = BundleEpisodes(planner, b.routes)
    draws = [episodes.sample(np.random.default_rng(7)) for _ in range(2)]
    assert draws[0][0] == draws[1][0]
    np.testing.assert_array_equal(draws[0][1].route, draws[1][1].route)
    seen = set()
    rng = np.random.default_rng(0)
    for _ in range(20):
        k, ep = episodes.sample(rng)
        seen.add(k)
        np.testing.assert_allclose(ep.start, b.routes[k].start, atol=1e-6)
        np.testing.assert_allclose(ep.goal, b.routes[k].goal, atol=1e-6)
        assert ep.route.shape == (planner.cfg.num_points, 2)
    assert seen == {0, 1}
    # Route 0 passes its waypoint (0, 6).
    assert np.linalg.norm(episodes.routes[0] - [0.0, 6.0], axis=1).min() < 0.3


def test_points_too_close_to_walls_are_moved_to_free_cells_or_rejected(tmp_path):
    b = load_scene_bundle(write_street(tmp_path / "b"))
    planner = RoutePlanner(b.layout, RouteCfg(clearance=1.0))
    near_box = BundleRoute(np.array([2.0, 1.2]), np.array([-6.0, 2.0]))  # 0.7 m from the box
    route, _ = plan_bundle_route(planner, near_box, 0)
    ij = b.layout.cell_of(route[0])
    assert planner.free[ij[0], ij[1]] and np.linalg.norm(route[0] - near_box.start) < 1.5
    with pytest.raises(SceneBundleError, match="route 3"):
        plan_bundle_route(RoutePlanner(b.layout, RouteCfg(clearance=5.0)), near_box, 3)


# -- errors -------------------------------------------------------------------------------------------

def _expect(folder, message):
    with pytest.raises(SceneBundleError, match=message) as err:
        load_scene_bundle(folder)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_missing_folder_yaml_and_files(tmp_path):
    _expect(tmp_path / "nope", "scene bundle folder not found")
    (tmp_path / "empty").mkdir()
    _expect(tmp_path / "empty", "bundle.yaml: missing")
    folder = write_street(tmp_path / "b")
    (folder / "scene.ply").unlink()
    _expect(folder, "gaussians file 'scene.ply' not found")
    folder = write_street(tmp_path / "c")
    (folder / "collision.ply").unlink()
    _expect(folder, "collision_mesh file 'collision.ply' not found")


def test_corrupt_gaussians_and_mesh_files_name_the_file(tmp_path):
    folder = write_street(tmp_path / "b")
    write_mesh(folder / "scene.ply", *street_mesh())  # a mesh where the Gaussians should be
    assert "scene.ply" in _expect(folder, "missing 3DGS properties")
    folder = write_street(tmp_path / "c")
    save_ply(small_gaussians(), folder / "collision.ply")  # Gaussians where the mesh should be
    assert "collision.ply" in _expect(folder, "no 'element face'")


@pytest.mark.parametrize("edit,message", [
    (lambda s: s.update(format_version=2), "unsupported format_version 2"),
    (lambda s: s.update(colour="red"), "unknown key 'colour'"),
    (lambda s: s.pop("walkable"), "missing key 'walkable'"),
    (lambda s: s.update(size="big"), "size must be a positive number"),
    (lambda s: s.update(collision_mesh="collision.stl"), "must be a .ply or .obj file"),
    (lambda s: s["alignment"].update(rotation=[[1, 0, 0], [0, 2, 0], [0, 0, 1]]), "not a rotation matrix"),
    (lambda s: s["alignment"].update(rotation=[[1, 0, 0], [0, 1, 0], [0, 0, -1]]), "reflection"),
    (lambda s: s["alignment"].update(yaw_deg=10), "gives both rotation and yaw_deg"),
    (lambda s: s["alignment"].update(translation=[1, 2]), r"translation must have shape \[3\]"),
    (lambda s: s["alignment"].update(scale=0), "alignment.scale must be a positive number"),
    (lambda s: s["walkable"].update(polygons=[[[0, 0], [1, 1]]]), "polygon needs at least 3"),
    (lambda s: s["routes"][1].update(goal=[9.5, 0.0]), r"route 1 goal \(9.50, 0.00\).*not on the walkable area"),
    (lambda s: s["routes"][0].update(start=[2.0, 0.0]), r"route 0 start .*collision mesh occupies"),
    (lambda s: s["routes"][0].update(waypoints=[[30.0, 0.0]]), r"route 0 waypoint 0 .*outside the tile"),
    (lambda s: s["routes"][0].pop("goal"), r"routes\[0\] must be a mapping with start, goal"),
    (lambda s: s.update(obstacle_heights=[1.0, 0.5]), "obstacle_heights must be"),
])
def test_bad_yaml_content(tmp_path, edit, message):
    folder = write_street(tmp_path / "b")
    edit_yaml(folder, edit)
    assert "bundle.yaml" in _expect(folder, message)


def test_invalid_yaml_and_walkable_area_off_the_tile(tmp_path):
    folder = write_street(tmp_path / "b")
    (folder / "bundle.yaml").write_text("format_version: [1\n")
    _expect(folder, "not valid YAML")
    folder = write_street(tmp_path / "c", routes=[])
    edit_yaml(folder, lambda s: s["alignment"].update(translation=[100.0, 0.0, 0.0]))
    _expect(folder, "no collision mesh triangle lies inside")


# -- load-time checks ----------------------------------------------------------------------------------

def test_a_tall_object_on_the_ground_blocks_its_interior_not_only_its_walls():
    """A 3 m truck (taller than the band) on a ground surface that runs beneath it: its walls are in the
    band, its roof above it and the ground under it; the cells inside must be occupied too."""
    v, f = street_mesh()
    truck_v, truck_f = _box(-3.1, 3.1, 0.3, 1.6, 1.1, 3.0)
    layout = layout_from_mesh(np.concatenate([v, truck_v]), np.concatenate([f, np.asarray(truck_f) + len(v)]), SIZE,
                              WALKABLE)
    inside = lambda x, y: bool(layout.walkable[tuple(layout.cell_of(np.array([x, y])))])
    assert not inside(-3.1, 3.1) and not inside(-2.0, 3.4) and not inside(-4.0, 2.7)
    assert inside(-3.1, 0.9) and inside(-0.5, 3.1)  # just outside the truck
    fp = collision_footprints(layout)
    from s2e.urban.layout import footprint_mask
    assert footprint_mask(np.array([[-3.1, 3.1]]), fp).all()


def _gaussians_above_ground(n=60):
    g = small_gaussians(n)
    g.means[:, 2] = g.means[:, 2].abs() + 0.5  # an upright street: its Gaussians stand on or above the ground
    return g


def test_an_upside_down_alignment_is_refused_with_the_fix(tmp_path):
    folder = write_street(tmp_path / "b", gaussians=_gaussians_above_ground())
    load_scene_bundle(folder)  # upright: loads
    edit_yaml(folder, lambda s: s["alignment"].update(rotation=[[1, 0, 0], [0, -1, 0], [0, 0, -1]]))  # 180 deg about x
    message = _expect(folder, "upside down")
    assert "60 of 60 Gaussians" in message and "rotate 180 degrees" in message


def _corridor_bundle(folder):
    """Two rooms joined by a 1 m corridor, with one route through it (capture frame: EXAMPLE_CAPTURE)."""
    rooms = [np.array(p, float) for p in ([[-8, -8], [-3, -8], [-3, 8], [-8, 8]],
                                          [[-3.01, 4.5], [1.01, 4.5], [1.01, 5.5], [-3.01, 5.5]],
                                          [[1, 2], [5.5, 2], [5.5, 8], [1, 8]])]
    to_cap = lambda xy: EXAMPLE_CAPTURE.apply(np.c_[np.asarray(xy, float).reshape(-1, 2),
                                                    np.zeros(len(np.asarray(xy).reshape(-1, 2)))])
    route = BundleRoute(np.array([-6.0, 0.0]), np.array([4.0, 5.0]))
    folder = write_street(folder, capture=EXAMPLE_CAPTURE, walkable=[to_cap(p) for p in rooms],
                          routes=[BundleRoute(to_cap(route.start)[0], to_cap(route.goal)[0])])
    return folder, to_cap(route.start)[0]


def test_route_clearance_is_checked_at_load_in_both_frames(tmp_path):
    """A 0.3 m clearance gets through the 1 m corridor, the wheeled robot's 0.75 m does not."""
    folder, start_cap = _corridor_bundle(tmp_path / "b")
    assert len(load_scene_bundle(folder).routes) == 1  # no clearance given: not checked
    assert len(load_scene_bundle(folder, route_clearance=0.3).routes) == 1
    message = _expect_with(folder, dict(route_clearance=0.75), "route 0: no path with 0.75 m clearance")
    assert "bundle.yaml" in message and "tile frame (m)" in message and "capture frame (units)" in message
    assert f"({start_cap[0]:.3f}, {start_cap[1]:.3f}, {start_cap[2]:.3f}) in the capture frame" in message
    assert f"= {0.75 * EXAMPLE_CAPTURE.scale:.3g} capture units" in message


@pytest.mark.sim
def test_a_task_checks_its_robots_route_clearance_when_the_bundle_loads(tmp_path):
    """The wheeled task loads the bundle with its own route clearance (0.75 m): the 1 m corridor fails as one line,
    exit code 2, while the scene is built, not later when the first episode is planned."""
    import subprocess
    import sys

    folder, _ = _corridor_bundle(tmp_path / "b")
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "run_expert.py")
    proc = subprocess.run([sys.executable, script, "--task", "S2E-Urban-Wheeled", "--num_envs", "1", "--mode", "base",
                           "--no-camera",
                           f"env.scene.terrain.scene_bundle={folder}"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert (line.startswith("error: ") and "route 0: no path with 0.75 m clearance" in line
            and "capture frame (units)" in line)


def _expect_with(folder, kwargs, message):
    with pytest.raises(SceneBundleError, match=message) as err:
        load_scene_bundle(folder, **kwargs)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_two_d_polygons_of_a_y_up_capture_name_the_convention(tmp_path):
    folder = write_street(tmp_path / "b", capture=EXAMPLE_CAPTURE, routes=[])
    load_scene_bundle(folder)
    edit_yaml(folder, lambda s: s["walkable"].update(polygons=[[p[:2] for p in poly]
                                                               for poly in s["walkable"]["polygons"]], holes=[]))
    message = _expect(folder, "cover no free cell")
    assert "[x, y] means z = 0 in the capture frame" in message and "capture +y" in message and "[x, y, z]" in message


def test_gaussians_outside_the_tile_are_cropped_with_a_margin(tmp_path):
    g = small_gaussians(40)
    g.means[:10, 0] = torch.linspace(10.5, 19.5, 10)  # within the 10 m margin of the 20 m tile
    g.means[10:15, 1] = torch.linspace(-40.0, -21.0, 5)  # beyond it
    folder = write_street(tmp_path / "b", capture=EXAMPLE_CAPTURE, gaussians=g.transformed(
        torch.as_tensor(EXAMPLE_CAPTURE.rotation, dtype=torch.float32),
        torch.as_tensor(EXAMPLE_CAPTURE.translation, dtype=torch.float32), EXAMPLE_CAPTURE.scale))
    b = load_scene_bundle(folder)
    assert b.num_cropped == 5 and b.gaussians.num_gaussians == 35
    assert (b.gaussians.means[:, :2].abs() <= SIZE / 2 + 10.0 + 1e-4).all()
    edit_yaml(folder, lambda s: s.update(crop_margin=0.0))
    b = load_scene_bundle(folder)
    assert b.num_cropped == 15 and (b.gaussians.means[:, :2].abs() <= SIZE / 2 + 1e-4).all()
    edit_yaml(folder, lambda s: s.update(crop_margin=-1))
    _expect(folder, "crop_margin must be a number >= 0")
