# Sphinx configuration: the docs are Markdown, read by MyST; docs/api.md is
# generated from the docstrings and stubs by autodoc.
# Build (from the checkout): pip install '.[docs]' && sphinx-build -W -b html docs docs/_build
# autodoc imports the installed gochan (its C core must be built).
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

project = "gochan"
author = "the gochan authors"
copyright = "the gochan authors"
extensions = ["myst_parser", "sphinx.ext.autodoc", "gochan_stubdoc"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples", "_ext"]
html_theme = "furo"
html_title = "gochan"

# MyST: ```{eval-rst} blocks carry the autodoc directives; headings get
# anchors so that pages can link to sections.
myst_heading_anchors = 3
# Signatures as the user writes them: Chan[int], not gochan._native.Chan[int].
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_member_order = "bysource"
# Every public name is listed, documented or not (tests/test_docs_api.py
# checks that each has a docstring naming its Go equivalent).
autodoc_default_options = {"undoc-members": True}
