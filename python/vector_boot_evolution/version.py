"""The package's version, written only here: `__version__`, vb-evolve --version and the wheel's metadata (python/_build) read it."""
__version__ = "0.1.0"
