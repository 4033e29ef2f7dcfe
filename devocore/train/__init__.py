"""Training loops, augmentation, tuning and the simulated training data they draw from."""
