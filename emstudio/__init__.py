"""EM Studio: explore Gaussian-mixture fits made by the EM algorithm."""

__version__ = "0.1.0"
