"""Jobs that combine the steps end to end: bench (timing), export, the robustness grid, predict on your
own files and videos, and the plan that fills the paper's tables.
"""
