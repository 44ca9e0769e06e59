"""The commands besides ``build`` (which is lite_build.pipeline): ``serve``, ``check``,
``bundle``, ``embed`` and ``init``, one module each. cli.py parses arguments and calls them."""
