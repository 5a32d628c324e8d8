"""This repository as it was at another git revision, beside today's: its files, or one package imported.

Benchmarks use it to time the previous code and today's in one run on the same inputs
(scripts/benchmark_render.py --baseline REV imports the rasterizer of REV into the same process;
scripts/benchmark_train.py --baseline REV runs REV's train_ram.py between today's), so that the ratio does not
depend on the machine or its load. Files come from `git archive` into a temporary folder (removed at exit); an
imported package must import its own modules relatively (s2e does) and gets a private name.
"""

from __future__ import annotations

import atexit
import importlib.util
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from types import ModuleType


class RevisionImportError(ValueError):
    """The revision or the package cannot be read: one line naming it and the fix."""


def checkout_at(repo: str | Path, revision: str, paths: tuple[str, ...] = ()) -> Path:
    """A temporary folder holding the repository's files (or only `paths`) at git `revision`, as `git archive`
    writes them (no .git, no untracked files); removed when the process exits."""
    repo = Path(repo)
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
                             capture_output=True, text=True, check=True).stdout.strip()
        archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", sha, *paths],
                                 capture_output=True, check=True).stdout
    except FileNotFoundError:
        raise RevisionImportError("git is not installed: a baseline revision needs git and a clone with its "
                                  "history") from None
    except subprocess.CalledProcessError:
        raise RevisionImportError(f"revision '{revision}' or its {' '.join(paths) or 'files'} is not in the git "
                                  f"history of {repo}: name a commit of this clone (git log --oneline)") from None
    root = Path(tempfile.mkdtemp(prefix=f"s2e_{sha[:10]}_"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    return root


def import_package_at(repo: str | Path, revision: str, package_dir: str, submodule: str | None = None) -> ModuleType:
    """The package in folder `package_dir` (relative to the repository root) at git `revision`, or its `submodule`
    (a dotted name inside it: its relative imports may reach anywhere in the package)."""
    root = checkout_at(repo, revision, (package_dir,))
    folder = root / package_dir
    name = f"_s2e_at_{root.name.split('_')[1]}_{folder.name}"
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    if spec is None or spec.loader is None:
        raise RevisionImportError(f"{package_dir} at {revision} is not a Python package")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return importlib.import_module(f"{name}.{submodule}") if submodule else module
