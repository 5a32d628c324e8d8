"""Short closed-loop runs of the real S2E-Urban tasks, one per process (Isaac Lab keeps one simulation
per process). `python tests/sim_scenarios.py <scenario>` prints one `RESULT {json}` line that
tests/test_sim.py asserts on."""

from __future__ import annotations

import argparse
import json
import sys

import torch

from s2e_isaaclab.tasks.urban.mdp.navigation_command import heading_velocity
from s2e_isaaclab.utils.cli import add_env_args, make_env


def _env(task, num_envs, *extra, camera=False):
    """Build and reset a task; physics-only (no camera rendering) unless `camera`."""
    parser = argparse.ArgumentParser()
    add_env_args(parser)
    flags = [] if camera or "--no-camera" in extra else ["--no-camera"]
    env, cfg = make_env(parser.parse_args(["--task", task, "--num_envs", str(num_envs), *flags, *extra]))
    env.reset(seed=0)
    return env, cfg, env.unwrapped


def _drive(env, base, cmd, seconds):
    """Hold a (v, omega) command; return mean measured forward speed and yaw rate over the last half."""
    term = base.action_manager.get_term("nav")
    term.velocity_override = torch.tensor(cmd, device=base.device)
    action = torch.zeros(base.num_envs, 21, device=base.device)
    robot = base.scene["robot"]
    vs, ws, upright = [], [], 1.0
    steps = int(seconds / base.step_dt)
    for i in range(steps):
        env.step(action)
        hv = heading_velocity(robot)
        v, w = hv[:, 0], hv[:, 2]
        if i >= steps // 2:
            vs.append(v)
            ws.append(w)
        upright = min(upright, float((-robot.data.projected_gravity_b.torch[:, 2]).min()))
    return float(torch.stack(vs).mean()), float(torch.stack(ws).mean()), upright


def go2_walk():
    env, cfg, base = _env("S2E-Urban-Quadruped", 2, "env.terminations.collision=null",
                          "env.terminations.left_block=null", "env.terminations.arrived=null")
    robot = base.scene["robot"]
    start = robot.data.root_pos_w.torch[:, :2].clone()
    v, w, upright = _drive(env, base, [0.6, 0.0], 4.0)
    dist = float((robot.data.root_pos_w.torch[:, :2] - start).norm(dim=-1).min())
    height = float((robot.data.root_pos_w.torch[:, 2] - base.scene.env_origins[:, 2]).min())
    v0, w_turn, upright2 = _drive(env, base, [0.0, 0.8], 3.0)
    return {"speed": v, "yaw_rate": w, "distance": dist, "upright": min(upright, upright2), "height": height,
            "turn_rate": w_turn}


def wheeled_drive():
    env, cfg, base = _env("S2E-Urban-Wheeled", 2, "env.terminations.collision=null", "env.terminations.left_block=null",
                          "env.terminations.arrived=null")
    v, w, _ = _drive(env, base, [0.6, 0.0], 3.0)
    v_turn, w_turn, _ = _drive(env, base, [0.3, 0.6], 3.0)
    return {"speed": v, "yaw_rate": w, "turn_speed": v_turn, "turn_rate": w_turn}


def expert_episodes():
    """The expert on the fast mode with obstacles and pedestrians: metrics reach extras['log']."""
    from s2e.nav.expert import ExpertCfg, ScriptedExpert
    from s2e_isaaclab.tasks.urban.urban_env_cfg import route_lookahead

    env, cfg, base = _env("S2E-Urban-Wheeled", 4, "--mode", "base", "--content", "mixed", "--seed", "3")
    nav = base.command_manager.get_term("nav")
    term = base.action_manager.get_term("nav")
    expert = ScriptedExpert(ExpertCfg(lookahead=route_lookahead(cfg)), term.ctrl, nav.spec.radius,
                            nav.cfg.pedestrians.radius)
    nav.episode_log.clear()
    logged, min_ped_sep, ped_moved = {}, float("inf"), 0.0
    ped_asset = base.scene["pedestrians"]
    ped_start = ped_asset.data.body_pos_w.torch[..., :2].clone()
    route_far_err, route_near = None, None
    for step in range(600):
        xy, yaw = nav.robot_pose_2d()
        s = nav.refresh()
        a = expert.act(xy, yaw, nav.routes, s.progress, nav.footprints, nav.footprint_valid, nav.clearance,
                       nav.layouts[0].size, nav.crowd.pos, nav.crowd.vel, nav.crowd.active)
        _, _, _, _, extras = env.step(a)
        if step == 0:  # route guidance: far ahead it is the goal itself; near the start, 3 m ahead is ~3 m away
            route_far_err = float((nav.route_goal(1e4) - nav.command[:, :2]).abs().max())
            route_near = nav.route_goal(3.0).norm(dim=-1).tolist()
        logged.update({k: float(v) for k, v in extras.get("log", {}).items() if k.startswith("Metrics/nav/")})
        min_ped_sep = min(min_ped_sep, float(nav.crowd.min_separation().min()))
        if sum(len(r["env"]) for r in nav.episode_log) >= 4:
            break
    moved = (ped_asset.data.body_pos_w.torch[..., :2] - ped_start).norm(dim=-1)
    ped_moved = float(moved[nav.crowd.active].mean())
    rec = {k: [float(x) for r in nav.episode_log for x in r[k]]
           for k in ("success", "route_completion", "collisions", "steps")}
    return {"episodes": rec, "log_keys": sorted(logged), "min_ped_separation": min_ped_sep, "ped_body_moved": ped_moved,
            "route_far_err": route_far_err, "route_near": route_near}


def collision_into_building():
    """Drive straight at the nearest building in the fast mode: one collision, episode ends."""
    env, cfg, base = _env("S2E-Urban-Wheeled", 1, "--mode", "base", "env.terminations.left_block=null")
    nav = base.command_manager.get_term("nav")
    term = base.action_manager.get_term("nav")
    xy, yaw = nav.robot_pose_2d()
    b = torch.as_tensor(nav.layouts[0].buildings[:, :2])
    target = b[(b - xy[0].cpu()).norm(dim=-1).argmin()]
    heading = torch.atan2(target[1] - xy[0, 1].cpu(), target[0] - xy[0, 0].cpu())
    count, terminated_on_collision = 0, False
    for _ in range(400):
        xy, yaw = nav.robot_pose_2d()
        err = torch.atan2(torch.sin(heading - yaw.cpu()), torch.cos(heading - yaw.cpu()))
        term.velocity_override = torch.tensor([[0.8 if abs(err) < 0.3 else 0.0, float(2.0 * err)]], device=base.device)
        _, _, terminated, _, _ = env.step(torch.zeros(1, 21))
        if bool(terminated[0]):
            rec = nav.episode_log[-1] if nav.episode_log else None
            count = int(rec["collisions"][0]) if rec else -1
            terminated_on_collision = True
            break
    return {"terminated": terminated_on_collision, "collisions": count}


def walls_in_every_world():
    """8 wheeled robots (joint mode: physics contacts move the body), each put 1.5 m in front of its block's largest
    building and driven at it: where Newton keeps each block's colliders, and how far each robot got."""
    import math

    from isaaclab_newton.physics.newton_manager import NewtonManager

    from s2e.urban.layout import boxes_as_footprints

    env, cfg, base = _env("S2E-Urban-Wheeled", 8, "--mode", "joint", "env.terminations.collision=null",
                          "env.terminations.arrived=null", "env.terminations.left_block=null")
    nav, term = base.command_manager.get_term("nav"), base.action_manager.get_term("nav")
    worlds = NewtonManager.get_model().shape_world.numpy()
    e, origins, poses, faces = base.num_envs, nav.origins, [], []
    for i in range(e):
        b = boxes_as_footprints(nav.layouts[i].buildings)
        cx, cy, yaw, hx, hy, _, _ = b[int((b[:, 3] * b[:, 4]).argmax())]
        faces.append((cx, cy, yaw, hx))
        px, py = cx - math.cos(yaw) * (hx + 1.5), cy - math.sin(yaw) * (hx + 1.5)
        poses.append([px + float(origins[i, 0]), py + float(origins[i, 1]), nav.spec.base_height, 0.0, 0.0,
                      math.sin(yaw / 2), math.cos(yaw / 2)])
    robot, ids = term.robot, torch.arange(e, device=base.device)
    robot.write_root_pose_to_sim_index(root_pose=torch.tensor(poses, device=base.device), env_ids=ids)
    robot.write_root_velocity_to_sim_index(root_velocity=torch.zeros(e, 6, device=base.device), env_ids=ids)
    term.velocity_override = torch.tensor([[nav.spec.max_lin_vel, 0.0]], device=base.device)
    for _ in range(60):
        env.step(torch.zeros(e, 21, device=base.device))
    pos = robot.data.root_pos_w.torch[:, :2].cpu() - origins[:, :2].cpu()
    # signed distance of the base centre past the building's face (> 0: inside the building)
    past = [math.cos(yaw) * (float(pos[i, 0]) - cx) + math.sin(yaw) * (float(pos[i, 1]) - cy) + hx
            for i, (cx, cy, yaw, hx) in enumerate(faces)]
    per_world = [int((worlds == w).sum()) for w in range(e)]
    env.close()
    return {"global_shapes": int((worlds == -1).sum()), "per_world": per_world, "past_face": [float(d) for d in past],
            "radius": float(nav.spec.radius)}


def layout_fingerprint():
    env, cfg, base = _env("S2E-Urban-Wheeled", 3, "--mode", "base", "--seed", sys.argv[2] if len(sys.argv) > 2 else "0")
    terrain = base.scene.terrain
    nav = base.command_manager.get_term("nav")
    fp = [float(l.obstacles.sum() + l.buildings.sum()) for l in terrain.layouts]
    return {"layouts": fp, "goals": nav.goal.cpu().numpy().round(4).tolist(), "num_prims": len(terrain.layouts)}


def same_start_groups():
    """Groups of two envs: a group's members get the same block, start, goal and crowd for their k-th episode, also when
    they start it at different steps; the other group differs."""
    env, cfg, base = _env("S2E-Urban-Wheeled", 4, "--mode", "base", "--content", "mixed",
                          "env.commands.nav.group_size=2")  # the terrain's envs_per_block follows (finalize)
    nav, layouts = base.command_manager.get_term("nav"), base.scene.terrain.layouts

    def episode(i):
        return torch.cat([nav.routes[i].flatten(), nav.goal[i], nav.crowd.pos[i].flatten()])

    first = [episode(i) for i in range(4)]
    for i in (1, 0):  # env 1 starts its next episode a few steps before env 0
        base._reset_idx(torch.tensor([i], device=base.device))
        for _ in range(3):
            env.step(torch.zeros(4, base.action_manager.total_action_dim, device=base.device))
    second = [episode(i) for i in range(2)]
    result = {"shared_block": layouts[0] is layouts[1] and layouts[2] is layouts[3] and layouts[0] is not layouts[2],
              "first_same": bool(torch.equal(first[0], first[1]) and torch.equal(first[2], first[3])),
              "groups_differ": not torch.equal(first[0][:10], first[2][:10]),
              "second_differs_from_first": not torch.equal(second[0][:10], first[0][:10]),
              "active_pedestrians": int(nav.crowd.active[:2].sum())}
    nav_goal = [nav.goal[i].clone() for i in range(2)]
    result["second_same_goal"] = bool(torch.equal(nav_goal[0], nav_goal[1]))
    env.close()
    return result


def bundle_episode():
    """A procedural block exported as a scene bundle (tests' stand-in for a capture) in the wheeled task,
    fast mode: episodes start and end on the bundle's routes, the tiles hold its triangle-mesh
    collider, and driving at a building stops the robot at the wall."""
    import tempfile
    from pathlib import Path

    from pxr import UsdPhysics

    import isaaclab.sim as sim_utils

    from s2e.urban.layout import UrbanLayoutCfg, generate_layout
    from s2e.urban.procedural_bundle import export_procedural_bundle

    seed = 3
    folder = export_procedural_bundle(Path(tempfile.mkdtemp()) / "bundle", seed=seed, obstacle_density=1.5,
                                      num_routes=4)
    env, cfg, base = _env("S2E-Urban-Wheeled", 2, "--mode", "base", "--no-camera",
                          f"env.scene.terrain.scene_bundle={folder}",
                          "env.terminations.collision=null", "env.terminations.left_block=null",
                          "env.terminations.arrived=null")
    terrain, nav = base.scene.terrain, base.command_manager.get_term("nav")
    term, robot = base.action_manager.get_term("nav"), base.scene["robot"]
    planned = torch.as_tensor(nav.bundle_episodes.routes)
    raw = [(torch.as_tensor(r.start), torch.as_tensor(r.goal)) for r in terrain.bundle.routes]
    start_err = goal_err = snap = 0.0
    used = set()
    for reset in range(4):  # the first reset came from _env; three more draw further routes
        if reset:
            env.reset()
        xy, _ = nav.robot_pose_2d()
        for i, k in enumerate(nav.bundle_route.tolist()):
            used.add(k)
            start_err = max(start_err, float((xy[i].cpu() - planned[k, 0]).norm()))
            goal_err = max(goal_err, float((nav.goal[i].cpu() - planned[k, -1]).norm()))
            snap = max(snap, float((planned[k, 0] - raw[k][0]).norm()), float((planned[k, -1] - raw[k][1]).norm()))
    stage = sim_utils.get_current_stage()
    mesh_colliders = sum(p.HasAPI(UsdPhysics.MeshCollisionAPI) for p in stage.Traverse())
    # Drive env 0 straight at the nearest building of the block the bundle was made from.
    cfg_l = UrbanLayoutCfg()
    cfg_l.obstacles.density = 1.5
    buildings = torch.as_tensor(generate_layout(cfg_l, seed).buildings)
    xy, _ = nav.robot_pose_2d()
    lo, hi = buildings[:, :2] - buildings[:, 2:4] / 2, buildings[:, :2] + buildings[:, 2:4] / 2
    gap = lambda p: (torch.maximum(lo - p, p - hi).clamp_min(0)).norm(dim=-1)  # distance to each building
    b = int(gap(xy[0].cpu()).argmin())
    target = xy[0].cpu().clamp(lo[b], hi[b])
    heading = torch.atan2(target[1] - xy[0, 1].cpu(), target[0] - xy[0, 0].cpu())
    start_gap, min_gap, z = float(gap(xy[0].cpu())[b]), float("inf"), []
    for _ in range(int(8.0 / base.step_dt)):
        xy, yaw = nav.robot_pose_2d()
        err = float(torch.atan2(torch.sin(heading - yaw[0].cpu()), torch.cos(heading - yaw[0].cpu())))
        term.velocity_override = torch.tensor([[0.8 if abs(err) < 0.3 else 0.0, 2.0 * err], [0.0, 0.0]],
                                              device=base.device)
        env.step(torch.zeros(2, 21, device=base.device))
        min_gap = min(min_gap, float(gap(nav.robot_pose_2d()[0][0].cpu())[b]))
        z.append(float(robot.data.root_pos_w.torch[0, 2] - base.scene.env_origins[0, 2]))
    return {
        "start_err": start_err, "goal_err": goal_err, "snap": snap, "routes_used": len(used), "num_routes": len(raw),
        "layouts_shared": all(l is terrain.bundle.layout for l in terrain.layouts), "mesh_colliders": mesh_colliders,
        "start_gap": start_gap, "min_gap": min_gap, "final_gap": float(gap(nav.robot_pose_2d()[0][0].cpu())[b]),
        "radius": nav.spec.radius, "collisions": float(nav.state.collision_count[0]), "z_range": [min(z), max(z)],
    }


def camera_observations():
    """One task (argv[2]): camera obs shapes, a street image that is not flat, the frame ring buffer,
    a reset refilling it, and the walking people drawn as Gaussians."""
    task = sys.argv[2]
    extra = ("--content", "mixed", "--mode", "base") if task == "S2E-Urban-Wheeled" else ("--content", "pedestrians")
    env, cfg, base = _env(task, 2, *extra, camera=True)
    camera = base.scene.sensors["camera"]
    k = cfg.scene.camera.history
    action = torch.zeros(base.num_envs, 21, device=base.device)
    action[:, 0:20:2] = torch.arange(1.0, 11.0, device=base.device) * 0.3
    action[:, 20] = 0.5
    frames = []
    for _ in range(4):
        obs, *_ = env.step(action)
        frames.append(obs["camera"]["rgb"].clone())
    rgb, depth = obs["camera"]["rgb"], obs["camera"]["depth"]
    people = camera.scene.opacities[:, camera._num_static:]
    nav = base.command_manager.get_term("nav")
    result = {
        "rgb_shape": list(rgb.shape), "depth_shape": list(depth.shape), "history": k,
        "rgb_std": float(rgb[:, -1].std()), "rgb_min": float(rgb.min()), "rgb_max": float(rgb.max()),
        "bottom_depth_m": float(depth[:, -1, 0, -4:, :].mean() * 20.0),
        "top_depth": float(depth[:, -1, 0, :4, :].mean()),
        "shifted": bool(torch.equal(frames[-1][:, :-1], frames[-2][:, 1:])),
        "moved": float((frames[-1][:, -1] - frames[0][:, -1]).abs().mean()),
        "active_pedestrians": int(nav.crowd.active.sum()), "people_gaussians": int((people > 0).sum()),
        "gaussians_per_person": camera._people.num_gaussians,
    }
    camera.reset([0])
    refilled = camera.data.rgb[0]
    result["refilled_equal"] = all(bool(torch.equal(refilled[j], refilled[-1])) for j in range(k))
    result["other_env_kept"] = bool(torch.equal(camera.data.rgb[1],
                                                (frames[-1][1].permute(0, 2, 3, 1) * 255).round().to(torch.uint8)))
    env.close()
    return result


if __name__ == "__main__":
    result = globals()[sys.argv[1]]()
    print("RESULT " + json.dumps(result), flush=True)
