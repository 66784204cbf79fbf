"""The store's half of the lexicon: known values of repeating fields, learnt and imported.

`Store` takes these methods from `LexiconMethods`; `ReviewMethods.correct` calls `learn` in
its own transaction, so an answer and what the lexicon learnt from it are one commit. Which
fields take a lexicon is the form type's (`lexicon: true`, `form_spec.lexicon_keys`); what a
reading does with the lexicon is `pipeline.lexicon`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pipeline.check import normalise_text
from pipeline.form_spec import lexicon_keys
from pipeline.store import schema as t
from pipeline.store.rows import LexiconEntry

# A lexicon holds names, not paragraphs: a longer answer (a pasted page) is no known value,
# and PostgreSQL's index on the value could not hold it.
LEXICON_MAX_CHARS = 200
SOURCES = ("review", "import")


def _now() -> datetime:
    return datetime.now(UTC)


def lexicon_key(key: str, row: int | None) -> str:
    """A field's lexicon key: its scalar key, or `indicators.KEY` for a row's."""
    return key if row is None else f"indicators.{key}"


def learn(c: Connection, field_id: int, before: str | None, answer: str, now: datetime) -> None:
    """Count a reviewer's `answer` for a field, in place of the same field's answer `before`.

    Only the fields their form type marks `lexicon` count. A field's latest answer is the one
    that counts: the old answer's count goes down (and a value no answer gives any more
    leaves the lexicon), the new one's up.
    """
    found = c.execute(
        select(t.forms.c.form_type, t.fields.c.key, t.fields.c.row)
        .join(t.forms, t.forms.c.id == t.fields.c.form_id)
        .where(t.fields.c.id == field_id)
    ).first()
    if found is None:
        return
    form_type, key = found.form_type, lexicon_key(found.key, found.row)
    if key not in lexicon_keys(form_type):
        return
    if before is not None:
        _count(c, form_type, key, before, "review", -1, now)
    _count(c, form_type, key, answer, "review", 1, now)


def _count(
    c: Connection, form_type: str, key: str, value: str, source: str, delta: int, now: datetime
) -> bool:
    """Add `delta` to a value's count from `source`; True when the value was new to it."""
    value = normalise_text(value)
    if not value or len(value) > LEXICON_MAX_CHARS:
        return False
    where = (
        t.lexicon.c.form_type == form_type,
        t.lexicon.c.key == key,
        t.lexicon.c.value == value,
        t.lexicon.c.source == source,
    )
    known = c.execute(select(t.lexicon.c.id).where(*where)).first() is not None
    if delta <= 0:
        c.execute(update(t.lexicon).where(*where).values(seen=t.lexicon.c.seen + delta))
        c.execute(delete(t.lexicon).where(*where, t.lexicon.c.seen <= 0))
        return False
    # One statement that inserts or counts: two reviewers giving a new value at once both
    # count, on SQLite and PostgreSQL alike, where a look-up then an insert would collide.
    insert = sqlite_insert if c.dialect.name == "sqlite" else postgresql_insert
    c.execute(
        insert(t.lexicon)
        .values(
            form_type=form_type,
            key=key,
            value=value,
            source=source,
            seen=delta,
            first_seen=now,
            last_seen=now,
        )
        .on_conflict_do_update(
            index_elements=["form_type", "key", "value", "source"],
            set_={"seen": t.lexicon.c.seen + delta, "last_seen": now},
        )
    )
    return not known


class LexiconMethods:
    """Known values by form type and field: what readings are offered (`pipeline.lexicon`)."""

    engine: Engine

    def import_lexicon(self, form_type: str, key: str, values: Iterable[str]) -> tuple[int, int]:
        """Take an official list's values into a field's lexicon; (new values, known ones).

        Raises:
            ValueError: The form type does not mark `key` as a lexicon field.

        """
        if key not in lexicon_keys(form_type):
            known = ", ".join(lexicon_keys(form_type)) or "none"
            raise ValueError(
                f"{form_type} keeps no lexicon of {key!r}; its lexicon fields: {known}"
            )
        added = again = 0
        now = _now()
        with self.engine.begin() as c:
            # A list naming a value twice (or two spellings of one) counts it once.
            for value in dict.fromkeys(normalise_text(v) for v in values):
                if not value or len(value) > LEXICON_MAX_CHARS:
                    continue
                if _count(c, form_type, key, value, "import", 1, now):
                    added += 1
                else:
                    again += 1
        return added, again

    def lexicon_entries(
        self, form_type: str | None = None, key: str | None = None
    ) -> list[LexiconEntry]:
        """The lexicon's entries, by form type, key and value; optionally of one type or key."""
        query = select(t.lexicon).order_by(
            t.lexicon.c.form_type, t.lexicon.c.key, t.lexicon.c.value, t.lexicon.c.source
        )
        if form_type is not None:
            query = query.where(t.lexicon.c.form_type == form_type)
        if key is not None:
            query = query.where(t.lexicon.c.key == key)
        with self.engine.connect() as c:
            return [LexiconEntry.model_validate(r._mapping) for r in c.execute(query)]
