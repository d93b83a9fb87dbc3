"""One module per subcommand: ``add_arguments(parser)`` and ``run(args) -> int``.

Modules import only the standard library at top level so ``hwscale-tui --help`` stays fast;
heavy imports happen inside ``run``.
"""
