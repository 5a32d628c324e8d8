"""Registers the S2E task ids with gymnasium (loaded through the `isaaclab.tasks` entry point)."""

from . import navbench, urban  # noqa: F401
