"""Results tables in the docs are the ones generated from the results files, not typed in."""

import json
from pathlib import Path

from s2e.navbench.recipe_runs import markdown_table

ROOT = Path(__file__).resolve().parents[1]
START = "<!-- generated from docs/results/rl_recipe.json by s2e.navbench.recipe_runs.markdown_table -->\n"
END = "<!-- end of generated table -->"


def test_the_recipe_table_in_rl_md_is_generated_from_the_recorded_runs():
    text = (ROOT / "docs/rl.md").read_text()
    assert text.count(START) == 1 and text.count(END) == 1, "docs/rl.md lost the generated table's markers"
    table = text.split(START)[1].split(END)[0]
    expected = markdown_table(json.loads((ROOT / "docs/results/rl_recipe.json").read_text()))
    assert table == expected, f"regenerate the table in docs/rl.md from docs/results/rl_recipe.json:\n{expected}"


def test_the_navbench_tables_in_results_md_are_generated_from_the_published_records():
    from s2e_isaaclab.evaluation.published import find_sections, update_sections

    text = (ROOT / "docs/results.md").read_text()
    sections = find_sections(text)
    assert {(s, split) for s, split, robot, _ in sections if robot == "wheeled"} >= {
        ("results", "urban"), ("results", "shift"), ("split drop", "shift")}, "docs/results.md lost a generated table"
    fresh, stale = update_sections(text, ROOT / "docs/results/navbench")
    assert not stale, f"regenerate docs/results.md: ./isaaclab.sh -p scripts/navbench_report.py (stale: {stale})"
