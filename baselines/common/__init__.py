"""Pieces shared by the torch baselines: backbones, blocks, losses and the method base class."""
