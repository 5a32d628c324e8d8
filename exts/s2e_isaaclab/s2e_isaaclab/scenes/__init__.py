"""Procedural URBAN-SIM-style scenes for Isaac Lab."""

from .urban_terrain import UrbanTerrainImporter, UrbanTerrainImporterCfg
