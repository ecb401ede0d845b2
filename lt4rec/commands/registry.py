"""``add_registered_commands``: one subparser per registry entry, shared by ``lt4rec`` and
``lt4rec bench``."""

from __future__ import annotations

import argparse
import importlib
from typing import Callable, Optional

def add_registered_commands(sub, registry, main_key: str,
                            extra_arguments: Optional[Callable] = None) -> None:
    """Adds one subparser per ``registry`` entry ``name -> (module, one-line help)``.

    Each module provides ``add_arguments(parser)`` and ``main(args)``; its docstring becomes
    the subcommand's ``--help`` description, and ``main`` is stored as ``args.<main_key>``.
    ``extra_arguments(parser)``, when given, adds options every entry shares.
    """
    for name, (module_name, help_text) in registry.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        if extra_arguments is not None:
            extra_arguments(p)
        p.set_defaults(**{main_key: module.main})
