"""Training loops, augmentation and tuning."""
