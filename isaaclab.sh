#!/usr/bin/env bash
# S2E's launcher, used like Isaac Lab's own ./isaaclab.sh:
#   ./isaaclab.sh -p scripts/<script>.py [args]   run a script with the project's Python
#   ./isaaclab.sh list_envs | train | play ...     any other Isaac Lab CLI command
#   ./isaaclab.sh -t [pytest args]                  run this project's test suite
# On first use (or when a pyproject changes) it creates the project's venv with Python 3.12
# (Isaac Lab 3.0 needs it) and installs the project into it, editable, from its pinned pyprojects.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${S2E_VENV:-$ROOT/.venv}"
STAMP="$VENV/.s2e-install-stamp"

find_python312() {
    local candidates=("${S2E_PYTHON:-}" python3.12)
    if command -v pyenv >/dev/null 2>&1; then
        candidates+=("$(pyenv root)"/versions/3.12.*/bin/python3.12)
    fi
    candidates+=("$HOME"/.pyenv/versions/3.12.*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12)
    for py in "${candidates[@]}"; do
        [ -n "$py" ] || continue
        if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
            command -v "$py"
            return 0
        fi
    done
    return 1
}

UV_VERSION="0.13.8"  # the installer; part of the install hash, so changing it reinstalls

install_hash() {
    { cat "$ROOT/source/s2e/pyproject.toml" "$ROOT/exts/s2e_isaaclab/pyproject.toml"; echo "uv $UV_VERSION"; } \
        | sha256sum | cut -d' ' -f1
}

bootstrap() {
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(install_hash)" ]; then
        return 0
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        if ! py="$(find_python312)"; then
            echo "error: Python 3.12 not found (Isaac Lab 3.0 needs it): install it (e.g. 'pyenv install 3.12') or set S2E_PYTHON=/path/to/python3.12" >&2
            exit 1
        fi
        echo "[s2e] creating $VENV with $py" >&2
        "$py" -m venv "$VENV"
    fi
    echo "[s2e] installing the project into $VENV (first run downloads Isaac Lab 3.0 and PyTorch: ~3 GB, about a minute)" >&2
    # uv installs the same pinned pyprojects as pip would, with parallel downloads and unpacking (several times
    # faster; measured in docs/performance.md); it is pinned here and lives in the venv
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q "uv==$UV_VERSION" >&2
    "$VENV/bin/python" -m uv pip install -q --python "$VENV/bin/python" \
        -e "$ROOT/source/s2e" -e "$ROOT/exts/s2e_isaaclab[test]" >&2
    install_hash >"$STAMP"
}

bootstrap
export PYTHONUNBUFFERED=1
cd "$ROOT"
case "${1:-}" in
    -t | --test)
        shift
        exec "$VENV/bin/python" -m pytest "$ROOT/tests" "$@"
        ;;
    "")
        exec "$VENV/bin/isaaclab" --help
        ;;
    *)
        exec "$VENV/bin/isaaclab" "$@"
        ;;
esac
