"""gochan's benchmark suite: ``python -m gochan.bench --help``.

Layout: ``_registry`` (scenarios, units, budgets), ``_libs`` (gochan, the
queue module and pygolang behind small faces), one module per group of
scenarios (``_channels``, ``_select``, ``_timers``, ``_signals``, ``_context``,
``_scale``, ``_bubble``), ``_cell`` (one scenario on one library, run in its own process),
``_golang`` (the reference column: the same scenarios in Go, ``go/main.go``,
built once per run when a Go toolchain is on PATH), ``_runner`` (runs the cells, computes median
and spread), ``_load`` (``--load N``: the CPU-bound processes beside every
cell), ``_table`` (the text table), ``_plot`` (``--plot DIR``: the charts,
with matplotlib) and ``_cli``.
"""
