# Sphinx configuration: the docs are Markdown, read by MyST.
# Build: pip install sphinx myst-parser && sphinx-build -b html docs docs/_build
# The tests never need this; docs/examples are run by tests/test_examples.py.

project = "gochan"
author = "the gochan authors"
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples"]
html_theme = "alabaster"
