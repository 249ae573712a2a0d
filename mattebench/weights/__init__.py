"""Checkpoints shipped with mattebench (see ``index.json`` and ``CARD.md``; resolved by :mod:`mattebench.methods.shipped`)."""
