import numpy as np
import pytest

from s2e.urban.layout import CROSSWALK, SIDEWALK, UrbanLayoutCfg, distinct_layouts, footprint_mask, generate_layout
from s2e.urban.pedestrians import _rect_graph


def test_same_seed_same_block_and_different_seeds_differ():
    cfg = UrbanLayoutCfg()
    cfg.obstacles.density = 1.0
    a, b, c = generate_layout(cfg, 3), generate_layout(cfg, 3), generate_layout(cfg, 4)
    for name in ("walk_rects", "buildings", "curbs", "obstacles", "semantic", "walkable"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.obstacles, c.obstacles) or not np.array_equal(a.walk_rects, c.walk_rects)


def test_block_has_urban_structure(layouts):
    for l in layouts:
        assert len(l.buildings) >= 2 and len(l.curbs) >= 2
        assert (l.walk_kind == SIDEWALK).sum() >= 2 and (l.walk_kind == CROSSWALK).sum() >= 1
        assert 0.1 < l.walkable.mean() < 0.6


def test_walkable_rectangles_form_one_connected_area(layouts):
    for l in layouts:
        hops, _, _ = _rect_graph(l.walk_rects)
        assert (hops < 10**6).all(), f"seed {l.seed}: disconnected walkable rectangles"


def test_obstacles_are_off_the_walkable_grid_and_clear_of_buildings(layouts):
    for l in layouts:
        centers = l.cell_centers()
        inside = footprint_mask(centers, l.obstacles)
        assert not (inside & l.walkable).any()
        spawned = l.obstacles[l.num_furniture:]
        ij = l.cell_of(spawned[:, :2])
        # Every spawned obstacle stands on a sidewalk (region='sidewalk').
        assert (l.semantic[ij[:, 0], ij[:, 1]] == SIDEWALK).all()


def test_obstacle_density_scales_count():
    lo, hi = UrbanLayoutCfg(), UrbanLayoutCfg()
    lo.obstacles.density, hi.obstacles.density = 0.5, 3.0
    n_lo = sum(len(generate_layout(lo, s).obstacles) - generate_layout(lo, s).num_furniture for s in range(4))
    n_hi = sum(len(generate_layout(hi, s).obstacles) - generate_layout(hi, s).num_furniture for s in range(4))
    assert n_hi > 2 * n_lo


def test_bad_obstacle_config_names_the_field():
    cfg = UrbanLayoutCfg()
    cfg.obstacles.density, cfg.obstacles.region = 1.0, "roof"
    with pytest.raises(ValueError, match="obstacles.region"):
        generate_layout(cfg, 0)
    cfg.obstacles.region, cfg.obstacles.kinds = "sidewalk", ("box", "piano")
    with pytest.raises(ValueError, match="piano"):
        generate_layout(cfg, 0)


def test_every_obstacle_blocks_the_cells_it_touches(layouts):
    """Thin poles (narrower than a grid cell) must still block the walkable grid."""
    for l in layouts:
        for cx, cy, *_ in l.obstacles:
            ij = l.cell_of(np.array([cx, cy]))
            assert not l.walkable[ij[0], ij[1]]


def test_distinct_layouts_keeps_first_seen_order_and_indexes_every_entry():
    a, b, c = (generate_layout(UrbanLayoutCfg(), s) for s in (1, 2, 3))
    blocks, index = distinct_layouts([b, b, a, b, c, a])
    assert len(blocks) == 3 and all(x is y for x, y in zip(blocks, [b, a, c]))
    assert index == [0, 0, 1, 0, 2, 1]
