"""The ``lt4rec`` subcommands whose code lives in lower layers: each module here parses its
arguments and calls into ``lt4rec.models``, ``lt4rec.pipeline``, ``lt4rec.serving`` or
``lt4rec.schemas.validation``; none of those imports back."""
