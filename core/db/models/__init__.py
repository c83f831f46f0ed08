"""All tables. Import this package to register every table on ``SQLModel.metadata``.

One module per area. Later areas (governance, monitoring, risk, ...) add a module here and
import it below; Alembic's autogenerate and the schema test see all of them.
"""

from sqlmodel import SQLModel

# Stable constraint names: Alembic's batch mode on SQLite needs them to alter tables.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The registry first, then the areas in the order they were added (ruff: keep this order).
from core.db.models.registry import *  # noqa: E402,F401,F403,I001
from core.db.models.audit import *  # noqa: E402,F401,F403
from core.db.models.health import *  # noqa: E402,F401,F403
from core.db.models.risk import *  # noqa: E402,F401,F403
from core.db.models.meetings import *  # noqa: E402,F401,F403
from core.db.models.governance import *  # noqa: E402,F401,F403
from core.db.models.monitoring_feedback import *  # noqa: E402,F401,F403
from core.db.models.integrations import *  # noqa: E402,F401,F403
from core.db.models.insight import *  # noqa: E402,F401,F403
from core.db.models.monitoring_drift import *  # noqa: E402,F401,F403
from core.db.models.notify import *  # noqa: E402,F401,F403
from core.db.models.retraining import *  # noqa: E402,F401,F403
from core.db.models.stewardship import *  # noqa: E402,F401,F403
from core.db.models.logstore import *  # noqa: E402,F401,F403

metadata = SQLModel.metadata
