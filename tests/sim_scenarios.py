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


def _env(task, num_envs, *extra):
    parser = argparse.ArgumentParser()
    add_env_args(parser)
    env, cfg = make_env(parser.parse_args(["--task", task, "--num_envs", str(num_envs), *extra]))
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
    env, cfg, base = _env("S2E-Urban-Quadruped", 2, "env.terminations.collision=null", "env.terminations.left_block=null", "env.terminations.arrived=null")
    robot = base.scene["robot"]
    start = robot.data.root_pos_w.torch[:, :2].clone()
    v, w, upright = _drive(env, base, [0.6, 0.0], 4.0)
    dist = float((robot.data.root_pos_w.torch[:, :2] - start).norm(dim=-1).min())
    height = float((robot.data.root_pos_w.torch[:, 2] - base.scene.env_origins[:, 2]).min())
    v0, w_turn, upright2 = _drive(env, base, [0.0, 0.8], 3.0)
    return {"speed": v, "yaw_rate": w, "distance": dist, "upright": min(upright, upright2), "height": height, "turn_rate": w_turn}


def wheeled_drive():
    env, cfg, base = _env("S2E-Urban-Wheeled", 2, "env.terminations.collision=null", "env.terminations.left_block=null", "env.terminations.arrived=null")
    v, w, _ = _drive(env, base, [0.6, 0.0], 3.0)
    v_turn, w_turn, _ = _drive(env, base, [0.3, 0.6], 3.0)
    return {"speed": v, "yaw_rate": w, "turn_speed": v_turn, "turn_rate": w_turn}


def expert_episodes():
    """The expert on the fast mode with obstacles and pedestrians: metrics reach extras['log']."""
    from s2e.nav.expert import ExpertCfg, ScriptedExpert

    env, cfg, base = _env("S2E-Urban-Wheeled", 4, "--mode", "base", "--content", "mixed", "--seed", "3")
    nav = base.command_manager.get_term("nav")
    term = base.action_manager.get_term("nav")
    expert = ScriptedExpert(ExpertCfg(), term.ctrl, nav.spec.radius)
    nav.episode_log.clear()
    logged, min_ped_sep, ped_moved = {}, float("inf"), 0.0
    ped_asset = base.scene["pedestrians"]
    ped_start = ped_asset.data.body_pos_w.torch[..., :2].clone()
    for _ in range(600):
        xy, yaw = nav.robot_pose_2d()
        s = nav.refresh()
        a = expert.act(xy, yaw, nav.routes, s.progress, nav.footprints, nav.footprint_valid, nav.clearance, nav.layouts[0].size,
                       nav.crowd.pos, nav.crowd.vel, nav.crowd.active)
        _, _, _, _, extras = env.step(a)
        logged.update({k: float(v) for k, v in extras.get("log", {}).items() if k.startswith("Metrics/nav/")})
        min_ped_sep = min(min_ped_sep, float(nav.crowd.min_separation().min()))
        if sum(len(r["env"]) for r in nav.episode_log) >= 4:
            break
    moved = (ped_asset.data.body_pos_w.torch[..., :2] - ped_start).norm(dim=-1)
    ped_moved = float(moved[nav.crowd.active].mean())
    rec = {k: [float(x) for r in nav.episode_log for x in r[k]] for k in ("success", "route_completion", "collisions", "steps")}
    return {"episodes": rec, "log_keys": sorted(logged), "min_ped_separation": min_ped_sep, "ped_body_moved": ped_moved}


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


def layout_fingerprint():
    env, cfg, base = _env("S2E-Urban-Wheeled", 3, "--mode", "base", "--seed", sys.argv[2] if len(sys.argv) > 2 else "0")
    terrain = base.scene.terrain
    nav = base.command_manager.get_term("nav")
    fp = [float(l.obstacles.sum() + l.buildings.sum()) for l in terrain.layouts]
    return {"layouts": fp, "goals": nav.goal.cpu().numpy().round(4).tolist(), "num_prims": len(terrain.layouts)}


if __name__ == "__main__":
    result = globals()[sys.argv[1]]()
    print("RESULT " + json.dumps(result), flush=True)
