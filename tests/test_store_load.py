"""The store's load test (`scripts/store_load.py`), tiny, against the test PostgreSQL server.

Its figures are not checked (speed lives in the script's output); what it says it stored
is, against the database itself: every document it offered, each once, resends included.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, func, select

from pipeline.store import schema as t

REPO = Path(__file__).resolve().parents[1]


def test_the_load_test_stores_every_document_it_offers_exactly_once(
    postgres_store: str, tmp_path: Path
) -> None:
    figures_file = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            REPO / "scripts" / "store_load.py",
            "--db",
            postgres_store,
            "--writers",
            "2",
            "--batches",
            "1,4",
            "--rates",
            "30",
            "--seconds",
            "1",
            "--flood-pages",
            "20",
            "--resend",
            "0.5",
            "--json",
            figures_file,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stored exactly once" in done.stdout
    figures = json.loads(figures_file.read_text())
    steps = figures["steps"]
    assert [(s["batch"], s["offered_pages_s"]) for s in steps] == [
        (1, 30),
        (1, None),
        (4, 30),
        (4, None),
    ]
    assert all(s["written"] == s["documents"] for s in steps)
    assert sum(s["resent"] for s in steps) > 0  # some were sent twice, and stored once
    assert figures["size"]["pages"] == sum(s["pages"] for s in steps)

    engine = create_engine(postgres_store)
    with engine.connect() as c:
        documents = c.execute(
            select(t.documents.c.state, t.documents.c.read_run_id, t.documents.c.first_run_id)
        ).all()
        twice = c.execute(
            select(t.forms.c.document_id, t.forms.c.seq)
            .group_by(t.forms.c.document_id, t.forms.c.seq)
            .having(func.count() > 1)
        ).all()
        formless = c.execute(
            select(func.count())
            .select_from(t.documents)
            .where(~t.documents.c.id.in_(select(t.forms.c.document_id)))
        ).scalar()
        pages = c.execute(select(func.count()).select_from(t.pages)).scalar()
    engine.dispose()
    assert len(documents) == sum(s["documents"] for s in steps)
    assert {(state, read == first) for state, read, first in documents} == {("done", True)}
    assert twice == [] and formless == 0
    assert pages == figures["size"]["pages"]
