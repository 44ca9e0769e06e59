"""lite-build: notebooks in, a static offline JupyterLite site out."""

__version__ = "0.1.0"
