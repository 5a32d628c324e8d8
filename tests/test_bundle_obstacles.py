"""Obstacles spawned on a scene bundle for the obstacle tasks: as on the blocks, but never closing the robot's way."""

import numpy as np


def test_obstacles_spawned_on_a_narrow_captured_path_leave_it_passable():
    """A 3.5 m path: the spawner alone closes it somewhere; with the robot's passage no obstacle cuts it in two."""
    from dataclasses import replace

    from s2e.urban.bundle_layout import layout_from_mesh
    from s2e.urban.layout import ObstacleSpawnCfg, _room_parts, with_spawned_obstacles

    quad = np.array([[-15, -15, 0], [15, -15, 0], [15, 15, 0], [-15, 15, 0]], float)
    path = np.array([[-15, -1.75], [15, -1.75], [15, 1.75], [-15, 1.75]], float)
    layout = layout_from_mesh(quad, np.array([[0, 1, 2], [0, 2, 3]]), 30.0, [path])
    spawn = replace(ObstacleSpawnCfg(), density=6.0)
    assert _room_parts(layout, layout.walkable, 0.75) == 1
    closed = [s for s in range(10) if _room_parts(layout, with_spawned_obstacles(layout, spawn, s).walkable, 0.75) > 1]
    assert closed, "the spawner should close this path for some seed"
    for s in closed:
        kept = with_spawned_obstacles(layout, spawn, s, passage=0.75)
        assert _room_parts(layout, kept.walkable, 0.75) == 1 and len(kept.obstacles) > 0
