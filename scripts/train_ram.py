"""Fine-tune an AGDM checkpoint with PPO in an S2E-Urban task: the project's main job ("experiencing").

    ./isaaclab.sh -p scripts/train_ram.py --task S2E-Urban-Quadruped --headless
    ./isaaclab.sh -p scripts/train_ram.py --task S2E-Urban-Wheeled --content obstacles --mode base --num_envs 16 \
        --max_iterations 100 agent.actor.strategy=decoder            # the paper's ablation: ram | decoder | full
    torchrun --nproc_per_node 2 scripts/train_ram.py --distributed ...   # several GPUs (or CPU processes: gloo)

Isaac Lab's train.py conventions: --task, --num_envs, --seed, --max_iterations, --device, --logger,
--resume/--load_run/--load_checkpoint, --video, and Hydra overrides after the flags (env.*, agent.*).
--checkpoint is the AGDM checkpoint to import (default: the bundled assets/agdm/agdm_wheeled.pt).
On a CPU the robot moves by the fast base-velocity model of its locomotion controller unless
--mode joint is given (the joint level is for GPUs and for evaluation).
Only the strategy's parameters and the critic train (RAM by default); rollouts store cached context
tokens. Runs go to logs/rsl_rl/<experiment>/<date_time>[_<run_name>]/: model_<it>.pt (written
atomically), TensorBoard events, curves.png, params/env.yaml and agent.yaml, videos/ with --video.
"""

from __future__ import annotations

import argparse
import os
import shutil
from datetime import datetime

import torch

from s2e_isaaclab.paths import default_device
from s2e_isaaclab.utils.checkpoints import RUN_LOGS, agdm_checkpoint, run_checkpoint
from s2e_isaaclab.utils.cli import (
    UserError,
    add_env_args,
    build_cfgs,
    create_env,
    ensure_writable,
    finalize_cfgs,
    run_main,
)

AGENT_ENTRY_POINT = "s2e_rl_cfg_entry_point"


def add_train_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default=None,
                        help="AGDM checkpoint to fine-tune (default: the bundled assets/agdm/agdm_wheeled.pt)")
    parser.add_argument("--max_iterations", type=int, default=None, help="PPO iterations (default: the agent config's)")
    parser.add_argument("--run_name", default=None, help="suffix of the run folder")
    parser.add_argument("--resume", action="store_true",
                        help="continue a run from --load_run/--load_checkpoint: iterations continue after the loaded "
                             "one, --max_iterations more")
    parser.add_argument("--load_run", default=None,
                        help="with --resume: the run folder, or a regex of run folder names under "
                             "logs/rsl_rl/<experiment> (default: the newest run with a checkpoint)")
    parser.add_argument("--load_checkpoint", default=None,
                        help="with --resume: checkpoint in that folder (regex; default: the latest)")
    parser.add_argument("--logger", choices=("tensorboard", "wandb"), default=None)
    parser.add_argument("--video", action="store_true",
                        help="film env 0 (camera beside a top-down map) during training")
    parser.add_argument("--video_length", type=int, default=200, help="steps per video")
    parser.add_argument("--video_interval", type=int, default=2000, help="env steps between the starts of two videos")
    parser.add_argument("--distributed", action="store_true",
                        help="one process per GPU (or CPU process, gloo), launched by torchrun")
    parser.add_argument("--eval_every", type=int, default=None,
                        help="also run the held-out check every N iterations (default: agent.held_out.every; 0: only "
                             "at the end)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_env_args(parser, default_task="S2E-Urban-Quadruped")
    add_train_args(parser)
    args = parser.parse_args()
    if not args.camera:
        raise UserError("the AGDM policy needs the camera: drop --no-camera")
    if not args.resume and (args.load_run is not None or args.load_checkpoint is not None):
        raise UserError("--load_run/--load_checkpoint choose the run to continue: add --resume (a new run always "
                        "starts from the AGDM --checkpoint)")
    if args.max_iterations is not None and args.max_iterations < 1:
        raise UserError(f"--max_iterations {args.max_iterations}: train at least 1 iteration")

    from isaaclab.utils.io import dump_yaml
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper

    from s2e.models.checkpoint import CheckpointError, load_checkpoint
    from s2e.rl.curves import save_run_curves
    from s2e.rl.observation_env import AGDMObservationEnv
    from s2e.rl.run_folders import check_run_name
    from s2e.rl.runner import RunnerCheckpointError, S2ERunner
    from s2e_isaaclab.evaluation.compare import DEFAULT_CACHE, EpisodeSet
    from s2e_isaaclab.tasks.urban.agents import uses_mode_labels
    from s2e_isaaclab.utils.episodes import EpisodeMetricsVecEnv
    from s2e_isaaclab.utils.held_out_check import HeldOutCheck
    from s2e_isaaclab.utils.mode_labels import EnvModeLabeler
    from s2e_isaaclab.utils.nav_policies import model_task_mismatch
    from s2e_isaaclab.utils.rollout_video import FilmingVecEnv

    rank, local_rank = int(os.getenv("RANK", "0")), int(os.getenv("LOCAL_RANK", "0"))
    if args.distributed:
        if "WORLD_SIZE" not in os.environ:
            raise UserError("--distributed needs torchrun: torchrun --nproc_per_node N scripts/train_ram.py "
                            "--distributed ...")
        args.device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
        args.seed += rank  # every process drives other blocks
    if args.mode is None and not (args.device or default_device()).startswith("cuda"):
        args.mode = "base"  # on CPU, train in the fast base-velocity model of the locomotion controller
    env_cfg, agent_cfg = build_cfgs(args, AGENT_ENTRY_POINT)
    if args.max_iterations is not None:
        agent_cfg.max_iterations = args.max_iterations
    if args.eval_every is not None:
        agent_cfg.held_out.every = args.eval_every
    if args.logger:
        agent_cfg.logger = args.logger
    if args.run_name:
        agent_cfg.run_name = args.run_name
    try:
        check_run_name(agent_cfg.run_name or None)
    except ValueError as err:
        raise UserError(f"--run_name: {err}") from None
    agent_cfg.seed = args.seed
    agent_cfg.actor.checkpoint = agdm_checkpoint(args.checkpoint or agent_cfg.actor.checkpoint)
    finalize_cfgs(env_cfg, agent_cfg)  # again, with the flags above
    held_out = agent_cfg.held_out
    try:
        agdm, _ = load_checkpoint(agent_cfg.actor.checkpoint)
    except CheckpointError as err:
        raise UserError(str(err)) from None
    mismatch = model_task_mismatch(env_cfg, agdm.cfg)
    if mismatch:
        raise UserError(mismatch)

    log_root = ensure_writable(RUN_LOGS / agent_cfg.experiment_name, "log")
    resume_path = None
    if args.resume:
        resume_path = run_checkpoint(log_root, args.load_run, args.load_checkpoint,
                                     f"nothing to resume under {log_root}: {{err}}")
    run = datetime.now().strftime("%Y-%m-%d_%H-%M-%S") + (f"_{agent_cfg.run_name}" if agent_cfg.run_name else "")
    log_dir = log_root / run

    torch.manual_seed(agent_cfg.seed)
    env = create_env(args.task, env_cfg, args)
    vec = EpisodeMetricsVecEnv(RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions))
    if args.video and rank == 0:
        vec = FilmingVecEnv(vec, log_dir / "videos", args.video_length, args.video_interval, label=args.task)
    labeler = EnvModeLabeler(env) if uses_mode_labels(agent_cfg.algorithm) else None
    vec = AGDMObservationEnv(vec, agdm, agent_cfg.actor.strategy, labeler=labeler)
    who = f"[train_ram rank {rank}]" if args.distributed else "[train_ram]"
    print(f"{who} {args.task}: {env_cfg.scene.num_envs} envs, content={env_cfg.content}, mode={env_cfg.control_mode}, "
          f"strategy={agent_cfg.actor.strategy}, AGDM {agent_cfg.actor.checkpoint}, device {agent_cfg.device}"
          + (f", log {log_dir}" if rank == 0 else ""), flush=True)
    runner = S2ERunner(vec, agent_cfg.to_dict(), log_dir=str(log_dir), device=agent_cfg.device)
    if resume_path is not None:
        print(f"[train_ram] resuming from {resume_path}", flush=True)
        try:
            runner.load(resume_path)
        except RunnerCheckpointError as err:
            raise UserError(str(err)) from None
    if held_out.enabled and rank == 0:
        episodes = EpisodeSet(task=args.task, seeds=list(held_out.seeds), num_envs=held_out.num_envs,
                              episodes_per_env=held_out.episodes_per_env, content=env_cfg.content,
                              mode=env_cfg.control_mode,
                              overrides=[o for o in args.overrides if o.lstrip("+~").startswith("env.")],
                              device=args.device)
        final = runner.current_learning_iteration + agent_cfg.max_iterations - 1
        runner.checkpoint_hook = HeldOutCheck(log_dir, log_dir / "params" / "agdm.pt", episodes, DEFAULT_CACHE, final,
                                              every=held_out.every, log=lambda line: print(f"{who} {line}", flush=True))
    if rank == 0:
        dump_yaml(str(log_dir / "params" / "env.yaml"), env_cfg)
        dump_yaml(str(log_dir / "params" / "agent.yaml"), agent_cfg)
        # the run stays playable if the original moves
        shutil.copy2(agent_cfg.actor.checkpoint, log_dir / "params" / "agdm.pt")
    runner.learn(num_learning_iterations=agent_cfg.max_iterations,
                 init_at_random_ep_len=agent_cfg.init_at_random_ep_len)
    if rank == 0:
        curves = save_run_curves({log_dir.name: log_dir}, log_dir / "curves.png",
                                 title=f"{args.task}, {agent_cfg.actor.strategy}")
        print(f"{who} learning curves: {curves}", flush=True)
    print(f"{who} done" + (f": {log_dir}" if rank == 0 else ""), flush=True)
    vec.close()


if __name__ == "__main__":
    run_main(main)
