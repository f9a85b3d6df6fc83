"""The package's version: written here once; pyproject.toml, ``octopus_nb.__version__`` and the User-Agent read it."""

__version__ = "0.1.0"
