"""Step 2, the method: the contract every method keeps, the registry, the host process a method
predicts in, its options, shipped checkpoints, One-Frame Delay and the shared training loop.
"""
