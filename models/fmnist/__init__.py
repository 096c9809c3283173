"""Fashion-MNIST models for dyad: training, export and the shipped models."""
