"""Helpers shared by the scripts: argument conventions and environment creation with clear errors."""
