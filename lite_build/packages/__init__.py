"""Python packages for the site: resolve requirements for Pyodide, fetch wheels, write the lock.

The steps, in build order: :mod:`.platform` describes the browser's Python, :mod:`.resolve`
chooses one wheel per package from a :mod:`.index`, :mod:`.fetch` downloads them into the cache,
and :mod:`.lock` writes (and checks) the ``pyodide-lock.json`` the site ships.
"""
