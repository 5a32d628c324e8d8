"""Isaac Lab's script conventions (--task, --num_envs, --seed, --device, --headless, --viz, Hydra overrides
after the flags) and env creation that turns bad input into one-line errors."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import ipaddress
import os
import socket
import sys
from pathlib import Path

import gymnasium as gym

from s2e.rl.run_folders import RUN_CHECKPOINT_PATTERN  # noqa: F401  (the scripts' --load_checkpoint default)
from s2e.utils.errors import exit_bad_input

from ..paths import default_device


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


def add_env_args(parser: argparse.ArgumentParser, default_task: str = "S2E-Urban-Quadruped") -> None:
    parser.add_argument("--task", default=default_task, help="registered task id (./isaaclab.sh list_envs)")
    parser.add_argument("--num_envs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None,
                        help="simulation device, cpu or cuda:0 (default: the GPU if there is one)")
    add_viz_args(parser)
    parser.add_argument("--content", choices=("empty", "obstacles", "pedestrians", "mixed"), default=None)
    add_mode_arg(parser, None, "joint-level locomotion (default) or fast base-velocity model")
    parser.add_argument("--camera", action=argparse.BooleanOptionalAction, default=True,
                        help="render the Gaussian-splat camera (--no-camera for physics-only runs)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. env.episode_length_s=30")


LOOPBACK = "127.0.0.1"
"""Where the live view's web server listens unless --viz_host says otherwise: its sidebar pauses and resets the
simulation."""


def add_viz_args(parser: argparse.ArgumentParser) -> None:
    """Isaac Lab's visualizer flags (--viz as its launcher parses it, --max_visible_envs) and --headless (no
    visualizer); create_env hands them to the simulation through Isaac Lab's launch_simulation, as Isaac Lab's own
    scripts do."""
    from isaaclab.app.sim_launcher import _parse_visualizer_csv

    parser.add_argument("--headless", action="store_true", help="no visualizer (the default when --viz is left out)")
    parser.add_argument("--visualizer", "--viz", type=_parse_visualizer_csv, default=None,
                        help="Isaac Lab visualizers, comma-separated: viser (browser, with the S2E live view), "
                             "newton_gl, rerun, none")
    parser.add_argument("--max_visible_envs", type=int, default=argparse.SUPPRESS,
                        help="show at most this many envs in the Isaac Lab visualizers")
    parser.add_argument("--viz_port", type=int, default=8080, help="--viz viser: the web server's port")
    parser.add_argument("--viz_host", default=LOOPBACK,
                        help="--viz viser: the interface the web server listens on (default: this machine only; reach "
                             "it from elsewhere through an ssh tunnel, docs/live_view.md). 0.0.0.0 opens it to the "
                             "network, where anyone who reaches the port can pause and reset the simulation")


VISUALIZER_NEEDS = {
    "viser": ("viser", "pip install viser==1.0.26 (pinned in exts/s2e_isaaclab/pyproject.toml; ./isaaclab.sh installs "
                       "it)"),
    "rerun": ("rerun", "pip install 'rerun-sdk>=0.29.0' pyarrow==23.0.1 (Isaac Lab's rerun extra)"),
    "newton_gl": ("pyglet", "pip install pyglet"),
    "kit": ("isaacsim", "install Isaac Sim (Kit); this kit-less install has none"),
    "newton_rtx": ("ovrtx", "install Isaac Lab's OVRTX renderer (ovrtx)"),
}
"""Per --viz choice: the module it imports, and how to get it."""


def check_viz_args(args: argparse.Namespace) -> None:
    """--headless against --viz, and each requested visualizer's package (and a display for the desktop window of
    newton_gl), checked before anything is built: UserError naming the visualizer and what to install or pass."""
    chosen = getattr(args, "visualizer", None)
    if getattr(args, "headless", False):
        if chosen:
            raise UserError(f"--headless means no visualizer, but --viz {','.join(chosen)} asks for one: drop one of "
                            "the two")
        args.visualizer = []  # Isaac Lab's '--viz none': also off where the env cfg names visualizers
        return
    port = getattr(args, "viz_port", 8080)
    if not 0 < port < 65536:
        raise UserError(f"--viz_port {port}: use a TCP port between 1 and 65535")
    host = getattr(args, "viz_host", LOOPBACK)
    if "viser" in (chosen or ()) and not ipaddress.ip_address(_resolve_host(host)).is_loopback:
        print(f"warning: --viz_host {host}: the live view listens beyond this machine; anyone who reaches port {port} "
              "can pause and reset the simulation (leave --viz_host out and use an ssh tunnel: docs/live_view.md)",
              file=sys.stderr)
    for name in chosen or ():
        module, fix = VISUALIZER_NEEDS[name]
        if importlib.util.find_spec(module) is None:
            raise UserError(f"--viz {name} needs the Python package '{module}', which is not installed: {fix}")
        if name == "newton_gl" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise UserError("--viz newton_gl opens a desktop window but this machine has no display ($DISPLAY unset): "
                            "use --viz viser and open it in a browser (docs/live_view.md)")


_LAUNCHED = contextlib.ExitStack()
"""The simulations launched by create_env, closed by run_main when the script ends."""


def create_env(task: str, cfg, args: argparse.Namespace):
    """gym.make(task, cfg) inside Isaac Lab's launch_simulation, which hands --viz / --max_visible_envs to the
    simulation as Isaac Lab's scripts do; with viser among the visualizers the env comes wrapped in the S2E live view
    (s2e_isaaclab.utils.live_view), which shows the Gaussian-splat world in the same browser page."""
    from isaaclab.app import launch_simulation

    check_viz_args(args)
    finalize_cfgs(cfg)  # again, after what the script changed since build_cfgs: before the simulation starts
    launcher_args = {"visualizer": getattr(args, "visualizer", None)}
    if hasattr(args, "max_visible_envs"):
        launcher_args["max_visible_envs"] = args.max_visible_envs
    if "viser" in (getattr(args, "visualizer", None) or ()) and not any(getattr(v, "visualizer_type", None) == "viser"
                                                      for v in (cfg.sim.visualizer_cfgs or [])):
        from isaaclab_visualizers.viser import ViserVisualizerCfg

        others = (cfg.sim.visualizer_cfgs if isinstance(cfg.sim.visualizer_cfgs, list) else [cfg.sim.visualizer_cfgs]
                  * bool(cfg.sim.visualizer_cfgs))
        cfg.sim.visualizer_cfgs = [*others, ViserVisualizerCfg(port=getattr(args, "viz_port", 8080))]
    vizs = cfg.sim.visualizer_cfgs
    for viz in vizs if isinstance(vizs, list) else [vizs] * bool(vizs):
        if getattr(viz, "visualizer_type", None) == "viser":  # ours or the task's: on --viz_host only
            viz.bind_address = getattr(args, "viz_host", LOOPBACK)
    _LAUNCHED.enter_context(launch_simulation(cfg, launcher_args))
    env = gym.make(task, cfg=cfg)
    if "viser" in (getattr(args, "visualizer", None) or ()):
        from .live_view import LiveView

        env = LiveView(env, host=getattr(args, "viz_host", LOOPBACK))
    return env


def add_mode_arg(parser: argparse.ArgumentParser, default: str | None, help: str) -> None:
    """--mode: the robot's control mode (joint | base, the action term's CONTROL_MODES), set on the env cfg by
    apply_env_args through urban_env_cfg.apply_control_mode, the one function that applies a control mode."""
    parser.add_argument("--mode", choices=("joint", "base"), default=default, help=help)


def apply_env_args(cfg, args: argparse.Namespace) -> None:
    """--mode, --content and --no-camera on an env cfg (None / camera: leave the task's own). Every script sets
    the control mode here or through build_cfgs, which calls this."""
    from s2e_isaaclab.tasks.urban.urban_env_cfg import apply_control_mode, disable_camera, set_content

    if getattr(args, "mode", None) is not None:
        apply_control_mode(cfg, args.mode)
    if getattr(args, "content", None) is not None:
        set_content(cfg, args.content)
    if not getattr(args, "camera", True) and hasattr(cfg.scene, "camera"):
        disable_camera(cfg)


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

    check_env_args(args)
    check_viz_args(args)
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
        raise UserError(f"invalid override in {' '.join(args.overrides) or '(none)'}: "
                        f"{str(err).splitlines()[0]}") from err
    cfg.sim.device = args.device or default_device()
    if args.num_envs is not None:
        cfg.scene.num_envs = args.num_envs
    cfg.seed = args.seed
    apply_env_args(cfg, args)
    finalize_cfgs(cfg, agent_cfg)
    return cfg, agent_cfg


def finalize_cfgs(env_cfg, agent_cfg=None) -> None:
    """The task package's `finalize` (every derived setting, derived and checked), its problems as a UserError."""
    from s2e_isaaclab.tasks.urban.finalize import SettingsError, finalize

    try:
        finalize(env_cfg, agent_cfg)
    except SettingsError as err:
        raise UserError(str(err)) from None


def check_env_args(args: argparse.Namespace) -> None:
    """--num_envs and --device, checked before anything is built (UserError naming the value and the fix)."""
    if getattr(args, "num_envs", None) is not None and args.num_envs < 1:
        raise UserError(f"--num_envs {args.num_envs}: run at least 1 env")
    device = getattr(args, "device", None)
    if device is None or device == "cpu":
        return
    import torch

    kind, _, index = device.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise UserError(f"--device {device}: use cpu, cuda or cuda:<index>")
    if not torch.cuda.is_available():
        raise UserError(f"--device {device}: torch sees no CUDA GPU on this machine: use --device cpu (or leave "
                        "--device out)")
    if index and int(index) >= torch.cuda.device_count():
        raise UserError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                        f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")


def _override_type_error(key: str, default, text: str) -> str | None:
    """Why the override value `text` cannot replace a field whose default is `default` (None when it can): strings,
    booleans, numbers, lists and mappings are checked as Hydra will parse the value; other fields take any value."""
    import yaml

    if default is None or callable(default) or type(default).__module__ != "builtins":
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    if value is None:
        return None
    if isinstance(value, str) and not isinstance(default, str):
        with contextlib.suppress(ValueError):  # YAML 1.1 reads 1e-3 as a string; Hydra's grammar reads it as a float
            value = float(value)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        if isinstance(value, str):
            return None
        return f"takes a string (default {default!r}), got {text!r}: quote it for Hydra, '{key}=\"{text}\"'"
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = number and isinstance(value, int), "an integer"
    elif isinstance(default, float):
        ok, kind = number, "a number"
    elif isinstance(default, (list, tuple)):
        ok, kind = isinstance(value, list), "a list, e.g. [1,2]"
    elif isinstance(default, dict):
        ok, kind = isinstance(value, dict), "a mapping"
    else:
        return None
    return None if ok else f"takes {kind} (default {default!r}), got {text!r}"


def _check_override_paths(default_cfg, overrides: list[str], root: str) -> None:
    """Every `<root>.a.b=value` override must name an existing field (Isaac Lab would set a new one silently) and give
    a value of the field's type (Isaac Lab would fail deep inside env creation)."""
    for item in overrides:
        if "=" not in item:
            raise UserError(f"invalid override {item!r}: expected key=value, e.g. env.episode_length_s=30")
        raw_key, text = item.split("=", 1)
        key = raw_key.lstrip("+~")
        if not key.startswith(f"{root}."):
            continue
        node, parts = default_cfg, key.split(".")
        for depth, part in enumerate(parts[1:], start=1):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif node is not None and not isinstance(node, dict) and hasattr(node, part):
                node = getattr(node, part)
            else:
                raise UserError(f"invalid override {item!r}: {'.'.join(parts[:depth])} has no field {part!r}")
        problem = None if raw_key.startswith(("+", "~")) else _override_type_error(key, node, text)
        if problem:
            raise UserError(f"invalid override {item!r}: {key} {problem}")


MIN_FREE_BYTES = 64 * 2**20
"""Less free space than this under an output folder fails at start-up: a checkpoint alone is ~10-60 MB."""


def ensure_writable(folder: str | Path, what: str = "output") -> Path:
    """Create `folder` and prove it takes a file, before anything expensive starts; UserError with the path and
    the reason (not a directory, permission, read-only or full file system)."""
    import contextlib
    import os
    import shutil

    folder = Path(folder)
    probe = folder / f".write_probe_{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"s2e")
        free = shutil.disk_usage(folder).free
    except OSError as err:
        raise UserError(f"cannot write the {what} folder {folder}: {err.strerror or err}; run from a writable folder "
                        "or point the output elsewhere") from None
    finally:
        with contextlib.suppress(OSError):  # where the folder takes no file there is no probe to remove
            probe.unlink(missing_ok=True)
    if free < MIN_FREE_BYTES:
        raise UserError(f"the {what} folder {folder} has {free / 2**20:.0f} MiB free (at least "
                        f"{MIN_FREE_BYTES // 2**20} MiB needed): free some space or point the output elsewhere")
    return folder


def _resolve_host(host: str) -> str:
    """An interface name or address as an IP address (UserError when it is neither)."""
    try:
        return socket.gethostbyname(host)
    except OSError:
        raise UserError(f"--viz_host {host}: not an address or a host name of this machine (e.g. 127.0.0.1, or 0.0.0.0 "
                        "for all)") from None


def make_env(args: argparse.Namespace):
    cfg = build_env_cfg(args)
    return create_env(args.task, cfg, args), cfg


def run_main(main) -> None:
    """Run a script's main, printing user errors (bad input, missing or corrupt files) as one line, exit code 2;
    Ctrl-C ends it with exit code 130 and no traceback."""
    from s2e.navbench.episodes import EpisodeFileError
    from s2e.rendering.ply import PlyError
    from s2e.urban.scene_bundle import SceneBundleError

    try:
        main()
    except (UserError, FileNotFoundError, PlyError, SceneBundleError, EpisodeFileError) as err:
        exit_bad_input(str(err))
    except KeyboardInterrupt:  # Ctrl-C: what was saved stays (atomic writes); no traceback
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    finally:
        _LAUNCHED.close()
