"""Step 4, the run: the run record, the run folder (rows, identity, lock, stored alphas), and the runner
that wires dataset -> method -> scorer -> store, with its executors.
"""
