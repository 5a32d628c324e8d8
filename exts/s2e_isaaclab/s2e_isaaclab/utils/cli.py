"""Isaac Lab's script conventions (--task, --num_envs, --seed, --device, --headless, Hydra overrides
after the flags) and env creation that turns bad input into one-line errors."""

from __future__ import annotations

import argparse
import sys

import gymnasium as gym

from ..paths import default_device

# the runner's model_<iteration>.pt, anchored so a partial ".model_3.pt.tmp" (or any other suffix) never matches
RUN_CHECKPOINT_PATTERN = r"model_\d+\.pt$"


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


def add_env_args(parser: argparse.ArgumentParser, default_task: str = "S2E-Urban-Quadruped") -> None:
    parser.add_argument("--task", default=default_task, help="registered task id (./isaaclab.sh list_envs)")
    parser.add_argument("--num_envs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="simulation device, cpu or cuda:0 (default: the GPU if there is one)")
    parser.add_argument("--headless", action="store_true", help="accepted for Isaac Lab compatibility (kit-less runs headless)")
    parser.add_argument("--content", choices=("empty", "obstacles", "pedestrians", "mixed"), default=None)
    parser.add_argument("--mode", choices=("joint", "base"), default=None, help="joint-level locomotion (default) or fast base-velocity model")
    parser.add_argument("--camera", action=argparse.BooleanOptionalAction, default=True,
                        help="render the Gaussian-splat camera (--no-camera for physics-only runs)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. env.episode_length_s=30")


def s2e_task_ids() -> list[str]:
    import s2e_isaaclab.tasks  # noqa: F401  (registers the tasks)

    return sorted(k for k in gym.registry if k.startswith(("S2E-", "NavBench-GS-")))


def build_env_cfg(args: argparse.Namespace):
    """Parse the task's env cfg with the CLI's settings; UserError on an unknown task or bad override."""
    return build_cfgs(args)[0]


def build_cfgs(args: argparse.Namespace, agent_entry_point: str | None = None):
    """(env cfg, agent cfg) of the task with the CLI's settings and Hydra overrides (env.*, and agent.*
    when `agent_entry_point` names the agent config); UserError on an unknown task or bad override."""
    from isaaclab_tasks.utils.hydra import resolve_task_config

    from s2e_isaaclab.tasks.urban.urban_env_cfg import apply_control_mode, disable_camera, set_content

    tasks = s2e_task_ids()
    if args.task not in gym.registry:
        raise UserError(f"unknown task {args.task!r}: choose one of {', '.join(tasks)}")
    default_env, default_agent = resolve_task_config(args.task, agent_entry_point, overrides=[])
    _check_override_paths(default_env, args.overrides, "env")
    if agent_entry_point is None:
        stray = [o for o in args.overrides if o.lstrip("+~").startswith("agent.")]
        if stray:
            raise UserError(f"invalid override {stray[0]!r}: this script has no agent config (only env.* overrides)")
    else:
        _check_override_paths(default_agent, args.overrides, "agent")
    try:
        cfg, agent_cfg = resolve_task_config(args.task, agent_entry_point, overrides=args.overrides)
    except Exception as err:  # Hydra/configclass errors: surface them as one line
        raise UserError(f"invalid override in {' '.join(args.overrides) or '(none)'}: {str(err).splitlines()[0]}") from err
    cfg.sim.device = args.device or default_device()
    if args.num_envs is not None:
        cfg.scene.num_envs = args.num_envs
    cfg.seed = args.seed
    if hasattr(cfg.scene, "terrain") and hasattr(cfg.scene.terrain, "seed"):
        cfg.scene.terrain.seed = args.seed
        cfg.commands.nav.seed = args.seed
    if args.mode is not None:
        apply_control_mode(cfg, args.mode)
    if args.content is not None:
        set_content(cfg, args.content)
    if not getattr(args, "camera", True) and hasattr(cfg.scene, "camera"):
        disable_camera(cfg)
    return cfg, agent_cfg


def _check_override_paths(default_cfg, overrides: list[str], root: str) -> None:
    """Every `<root>.a.b=value` override must name an existing field (Isaac Lab would set a new one silently)."""
    for item in overrides:
        if "=" not in item:
            raise UserError(f"invalid override {item!r}: expected key=value, e.g. env.episode_length_s=30")
        key = item.split("=", 1)[0].lstrip("+~")
        if not key.startswith(f"{root}."):
            continue
        node = default_cfg
        for part in key.split(".")[1:]:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif node is not None and not isinstance(node, dict) and hasattr(node, part):
                node = getattr(node, part)
            else:
                raise UserError(f"invalid override {item!r}: {key} has no field {part!r}")


def make_env(args: argparse.Namespace):
    cfg = build_env_cfg(args)
    return gym.make(args.task, cfg=cfg), cfg


def run_main(main) -> None:
    """Run a script's main, printing user errors (bad input, missing or corrupt files) as one line."""
    from s2e.navbench.episodes import EpisodeFileError
    from s2e.rendering.ply import PlyError
    from s2e.urban.scene_bundle import SceneBundleError

    try:
        main()
    except (UserError, FileNotFoundError, PlyError, SceneBundleError, EpisodeFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
