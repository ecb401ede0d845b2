"""The traffic-log contract: ``log_schema.pbtxt`` plus its typed Python view.

Every other package takes column names from ``schemas.names`` and column facts (type, group,
domain) from ``schemas.contract.load()``.
"""

from lt4rec.schemas import names  # noqa: F401
from lt4rec.schemas.contract import (DType, Feature, Group, Kind, LogContract,  # noqa: F401
                              SCHEMA_PATH, load)
