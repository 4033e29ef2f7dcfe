"""Training loops, augmentation and the simulated training data they draw from."""
