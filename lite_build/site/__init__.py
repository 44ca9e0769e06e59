"""The parts of a built site: paths and names (paths.py), the JupyterLite app's settings
(jupyterlite.py), every patch of JupyterLite's output (patches.py), the content, settings, the
kernel's early start, the offline service worker, widgets, hosting files, compression, and
publishing (publish.py)."""
