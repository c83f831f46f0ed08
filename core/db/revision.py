"""Write Alembic revisions from the table definitions.

    python -m core.db.revision "add risk assessments"      # a new revision on top of head
    python -m core.db.revision --initial                   # rewrite 0001 from all tables

``--initial`` exists only until the first release lands: it regenerates the base revision
from every table (other revisions are set aside meanwhile). After that, revisions are never
edited. Review generated files: autogenerate does not see triggers or data migrations.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from alembic import command

from core.db.engine import make_engine
from core.db.migrate import MIGRATIONS_DIR, alembic_config, upgrade

INITIAL_MESSAGE = "registry schema"


def new_revision(message: str, rev_id: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'autogen.db'}")
        upgrade(engine)
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)


def regenerate_initial() -> None:
    versions = MIGRATIONS_DIR / "versions"
    with tempfile.TemporaryDirectory() as aside:
        for path in versions.glob("*.py"):
            if path.name.startswith("0001_"):
                path.unlink()
            else:
                shutil.move(str(path), Path(aside) / path.name)
        try:
            new_revision(INITIAL_MESSAGE, "0001")
        finally:
            for path in Path(aside).glob("*.py"):
                shutil.move(str(path), versions / path.name)


if __name__ == "__main__":
    if sys.argv[1:] == ["--initial"]:
        regenerate_initial()
    else:
        new_revision(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
