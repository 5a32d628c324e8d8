import numpy as np
import torch

from s2e.urban.routes import RouteCfg, RoutePlanner, polyline_length, project_on_route, update_route_progress


def test_episodes_are_valid(layouts, rng):
    cfg = RouteCfg(min_distance=10.0, max_distance=40.0, clearance=0.5)
    for l in layouts:
        planner = RoutePlanner(l, cfg)
        for _ in range(5):
            ep = planner.sample_episode(rng)
            assert 10.0 <= np.linalg.norm(ep.goal - ep.start) <= 40.0
            np.testing.assert_allclose(ep.route[0], ep.start, atol=1e-4)
            np.testing.assert_allclose(ep.route[-1], ep.goal, atol=1e-4)
            assert ep.length >= np.linalg.norm(ep.goal - ep.start) - 1e-3
            # Every point along the route keeps the clearance (sampled densely).
            dense = np.concatenate([np.linspace(a, b, 20) for a, b in zip(ep.route[:-1], ep.route[1:])])
            ij = l.cell_of(dense)
            assert (planner.clearance_map[ij[:, 0], ij[:, 1]] >= cfg.clearance - l.resolution).all()


def test_same_rng_gives_same_episode(layouts):
    p = RoutePlanner(layouts[0], RouteCfg())
    a, b = p.sample_episode(np.random.default_rng(5)), p.sample_episode(np.random.default_rng(5))
    np.testing.assert_array_equal(a.route, b.route)


def test_progress_along_a_bent_route_is_monotone_and_windowed():
    # A U-shaped route: out 10 m along x, 4 m up, back 10 m.
    route = torch.tensor([[0.0, 0.0], [10.0, 0.0], [10.0, 4.0], [0.0, 4.0]])[None]
    total = polyline_length(route[0].numpy())
    progress = torch.zeros(1)
    # Standing near the end of the return leg at the start must not credit the whole route.
    progress = update_route_progress(progress, torch.tensor([[1.0, 3.5]]), route, window=3.0)
    assert progress.item() < 3.5
    for x in np.linspace(0, 10, 21):
        progress = update_route_progress(progress, torch.tensor([[float(x), 0.1]]), route)
    assert abs(progress.item() - 10.1) < 1e-4  # (10, 0.1) projects onto the second leg
    progress = update_route_progress(progress, torch.tensor([[10.2, 3.0]]), route)
    assert abs(progress.item() - 13.0) < 1e-4
    back = update_route_progress(progress, torch.tensor([[2.0, 0.0]]), route)
    assert back.item() == progress.item()  # never decreases
    arc, dist = project_on_route(torch.tensor([[5.0, 4.5]]), route)
    assert abs(arc.item() - 19.0) < 1e-4 and abs(dist.item() - 0.5) < 1e-5
    assert total == 24.0


def _string_pull_reference(planner, pts):
    """Greedy string pulling written out with NumPy, one line-of-sight check at a time."""
    def line_free(a, b):
        n = max(2, int(np.ceil(np.linalg.norm(b - a) / (planner.layout.resolution * 0.5))))
        ij = planner.layout.cell_of(a[None] + np.linspace(0, 1, n)[:, None] * (b - a)[None])
        return bool(planner.free[ij[:, 0], ij[:, 1]].all())

    out, i, j = [pts[0]], 0, 1
    while j < len(pts) - 1:
        if line_free(pts[i], pts[j + 1]):
            j += 1
        else:
            out.append(pts[j])
            i, j = j, j + 1
    out.append(pts[-1])
    return np.asarray(out)


def test_compiled_string_pulling_matches_the_numpy_reference(layouts):
    rng = np.random.default_rng(2)
    checked = 0
    for l in layouts:
        planner = RoutePlanner(l, RouteCfg())
        free = np.flatnonzero(planner.free.ravel())
        for _ in range(15):
            a, b = planner._centers[rng.choice(free, size=2)]
            path = planner.grid_path(a, b)
            if path is None:
                continue
            jittered = path + rng.normal(0.0, 0.1, path.shape)  # off the cell centres too
            for pts in (path, jittered):
                np.testing.assert_array_equal(planner._shortcut(pts), _string_pull_reference(planner, pts))
            checked += 1
    assert checked >= 60
