"""Step 3, the scorer: one prediction against one ground truth (gating, metrics), and one prediction file
scored under every toolkit's convention.
"""
