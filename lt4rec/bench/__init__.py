"""Benchmarks: commands that print figures and save them as JSON with machine info.

Speed and memory targets are checked here, never by timed tests. Each benchmark is a module
of this package with ``add_arguments(parser)`` and ``main(args) -> int``, registered in
``lt4rec.bench.cli.BENCHMARKS``; ``lt4rec.bench.common`` writes the results.
"""
