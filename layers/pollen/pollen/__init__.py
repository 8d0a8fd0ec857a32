"""Pollen: the shared package behind every Lambda function (shipped as one layer)."""

__version__ = "0.1.0"
