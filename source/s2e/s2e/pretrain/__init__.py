"""AGDM pretraining: offline datasets (GNM/ViNT format), anchors, losses, trainer."""
