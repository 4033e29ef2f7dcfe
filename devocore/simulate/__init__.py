"""Simulators with exact ground truth: embryos and crawling worms."""
