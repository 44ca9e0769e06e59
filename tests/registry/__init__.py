"""A local stand-in for PyPI and the npm registry, so the tests need neither.

- ``frozen.json`` (committed) pins every project and file the tests may ask for, as they were
  upstream when pinned: a new upload to PyPI changes no test.
- The files themselves are fetched once, hash-checked, into ``cache_dir()/test-registry/``
  by ``python -m tests.registry fetch`` (``scripts/setup.sh`` runs it).
- ``tests/conftest.py`` serves both on 127.0.0.1 for the whole test session and points
  ``LITE_BUILD_INDEX_URL``, ``LITE_BUILD_NPM_REGISTRY`` and uv's index at it; a request for
  anything not pinned fails the test that made it, with the command that pins it:
  ``python -m tests.registry add NAME==VERSION`` (``--sdist`` to store the sdist too) or
  ``python -m tests.registry add-npm NAME@VERSION``.
"""
