"""Version of the umt_mm package."""

__version__ = '0.1.0'
