"""grader: an autograder for NumPy deep-learning exercises, checked against PyTorch."""

__version__ = "0.1.0"
