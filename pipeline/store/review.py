"""The review queue in the store: tasks, claims, corrections, progress, pages for the form page.

`Store` takes these methods from `ReviewMethods`. A claim is a conditional UPDATE (open,
and unclaimed, expired or already the reviewer's), so two reviewers racing for one task
cannot both get it, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, func, or_, select, update

from pipeline.readings import LexiconChange, field_path
from pipeline.store import schema as t
from pipeline.store.errors import StoreError
from pipeline.store.lexicon import learn
from pipeline.store.rows import FieldView, FormView, PageView, Progress, ReviewTask

CLAIM_TTL = timedelta(minutes=10)  # long enough to read a hard field, short for a closed tab
# A reviewer's value at most: ten times the longest goal text these forms hold, and far
# under a spreadsheet cell's 32,767, so a pasted page or a script's megabyte is refused.
MAX_VALUE_CHARS = 4_000


def value_problem(value: str) -> str | None:
    """Why a reviewer's `value` cannot be stored, for the page; None when it can."""
    if len(value) > MAX_VALUE_CHARS:
        return (
            f"A value can be at most {MAX_VALUE_CHARS:,} characters; this one has "
            f"{len(value):,}. Nothing was saved."
        )
    return None


def _now() -> datetime:
    return datetime.now(UTC)


def latest_correction() -> Any:
    """The newest correction's value per field, as a scalar subquery on `fields.id`."""
    return (
        select(t.corrections.c.new_value)
        .where(t.corrections.c.field_id == t.fields.c.id)
        .order_by(t.corrections.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _task_query() -> Select[Any]:
    return (
        select(
            t.review_tasks.c.id,
            t.review_tasks.c.field_id,
            t.review_tasks.c.form_id,
            t.review_tasks.c.confidence,
            t.review_tasks.c.state,
            t.review_tasks.c.claimed_by,
            t.review_tasks.c.claimed_until,
            t.fields.c.key,
            t.fields.c.row,
            t.fields.c.value,
            t.fields.c.raw,
            t.fields.c.page,
            t.fields.c.bbox,
            t.documents.c.name.label("file"),
            t.forms.c.form_type,
            (t.review_tasks.c.crop_png.is_not(None)).label("has_crop"),
            latest_correction().label("corrected"),
        )
        .join(t.fields, t.fields.c.id == t.review_tasks.c.field_id)
        .join(t.forms, t.forms.c.id == t.review_tasks.c.form_id)
        .join(t.documents, t.documents.c.id == t.forms.c.document_id)
        .where(t.forms.c.current.is_(True), t.documents.c.state != "superseded")
    )


def _free_for(reviewer: str, now: datetime) -> Any:
    """A task nobody else holds: unclaimed, its claim expired, or the reviewer's own."""
    return or_(
        t.review_tasks.c.claimed_by.is_(None),
        t.review_tasks.c.claimed_by == reviewer,
        t.review_tasks.c.claimed_until < now,
    )


def map_box(matrix: Sequence[Sequence[float]], bbox: Sequence[float]) -> tuple[float, ...]:
    """A scan-pixel box through a 3×3 homography: the axis-aligned box round its corners."""
    x0, y0, x1, y1 = bbox
    xs: list[float] = []
    ys: list[float] = []
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
        w = matrix[2][0] * x + matrix[2][1] * y + matrix[2][2]
        xs.append((matrix[0][0] * x + matrix[0][1] * y + matrix[0][2]) / w)
        ys.append((matrix[1][0] * x + matrix[1][1] * y + matrix[1][2]) / w)
    return (min(xs), min(ys), max(xs), max(ys))


class ReviewMethods:
    """The review queue's half of `Store`."""

    engine: Engine

    # The queue

    def review_queue(self, limit: int | None = None) -> list[ReviewTask]:
        """Open tasks, most useful first: forms by their least sure field, a form's together.

        A reviewer then clears the likeliest errors first and reads each form once.
        """
        query = _task_query().where(t.review_tasks.c.state == "open")
        with self.engine.connect() as c:
            tasks = [ReviewTask.model_validate(r._mapping) for r in c.execute(query)]
        least: dict[int, float] = {}
        for task in tasks:
            least[task.form_id] = min(least.get(task.form_id, 1.0), task.confidence)
        tasks.sort(key=lambda k: (least[k.form_id], k.form_id, k.confidence, k.id))
        return tasks if limit is None else tasks[:limit]

    def task(self, task_id: int) -> ReviewTask | None:
        """One task in any state, with its field's latest correction."""
        with self.engine.connect() as c:
            row = c.execute(_task_query().where(t.review_tasks.c.id == task_id)).first()
        return ReviewTask.model_validate(row._mapping) if row else None

    def suggestion(self, field_id: int) -> LexiconChange | None:
        """The known value the lexicon offered for a field in place of what was read, if any."""
        with self.engine.connect() as c:
            evidence = c.execute(
                select(t.fields.c.evidence).where(t.fields.c.id == field_id)
            ).scalar()
        found = (evidence or {}).get("lexicon")
        return LexiconChange.model_validate(found) if found else None

    def crop(self, task_id: int) -> bytes | None:
        """The PNG of a review task's field as scanned, upright; None when none was cut."""
        with self.engine.connect() as c:
            value = c.execute(
                select(t.review_tasks.c.crop_png).where(t.review_tasks.c.id == task_id)
            ).scalar()
        return bytes(value) if value is not None else None

    # Claims

    def claim(self, task_id: int, reviewer: str, ttl: timedelta = CLAIM_TTL) -> bool:
        """Hold an open task for `reviewer` until `ttl` from now; False if someone else has it.

        A reviewer holds one task at a time: the one held before goes back to the queue.
        """
        now = _now()
        with self.engine.begin() as c:
            won = self._claim(c, task_id, reviewer, now, ttl)
            if won:
                self._release(c, reviewer, keep=task_id)
            return won

    @staticmethod
    def _claim(c: Connection, task_id: int, reviewer: str, now: datetime, ttl: timedelta) -> bool:
        result = c.execute(
            update(t.review_tasks)
            .where(
                t.review_tasks.c.id == task_id,
                t.review_tasks.c.state == "open",
                _free_for(reviewer, now),
            )
            .values(claimed_by=reviewer, claimed_until=now + ttl)
        )
        return result.rowcount == 1

    def claim_next(
        self, reviewer: str, skip: Collection[int] = (), ttl: timedelta = CLAIM_TTL
    ) -> ReviewTask | None:
        """The reviewer's next task, claimed: the first in queue order that nobody else holds.

        The reviewer's other claims are let go, so a task left by `skip` goes back to the queue.
        """
        now = _now()
        for task in self.review_queue():
            if task.id in skip:
                continue
            with self.engine.begin() as c:
                if self._claim(c, task.id, reviewer, now, ttl):
                    self._release(c, reviewer, keep=task.id)
                    return task
        self.release(reviewer)
        return None

    def release(self, reviewer: str) -> None:
        """Let go of every task `reviewer` holds."""
        with self.engine.begin() as c:
            self._release(c, reviewer, keep=None)

    @staticmethod
    def _release(c: Connection, reviewer: str, keep: int | None) -> None:
        query = update(t.review_tasks).where(t.review_tasks.c.claimed_by == reviewer)
        if keep is not None:
            query = query.where(t.review_tasks.c.id != keep)
        c.execute(query.values(claimed_by=None, claimed_until=None))

    # Answers

    def correct(self, field_id: int, new_value: str, reviewer: str) -> None:
        """Record a reviewer's value for a field beside the OCR value, and close its task.

        A value equal to the OCR value is recorded too: it says who checked the field. The
        value of a field its form type keeps a lexicon of counts in that lexicon.

        Raises:
            StoreError: No such field.
            ValueError: The value is longer than `MAX_VALUE_CHARS`.

        """
        problem = value_problem(new_value)
        if problem:
            raise ValueError(problem)
        with self.engine.begin() as c:
            current = c.execute(select(t.fields.c.value).where(t.fields.c.id == field_id)).scalar()
            if current is None:
                raise StoreError(f"no field {field_id} in the store")
            latest = c.execute(
                select(t.corrections.c.new_value)
                .where(t.corrections.c.field_id == field_id)
                .order_by(t.corrections.c.id.desc())
            ).first()
            now = _now()
            c.execute(
                t.corrections.insert().values(
                    field_id=field_id,
                    reviewer=reviewer,
                    at=now,
                    old_value=latest[0] if latest else current,
                    new_value=new_value,
                )
            )
            c.execute(
                update(t.fields).where(t.fields.c.id == field_id).values(review_state="corrected")
            )
            self._close(c, field_id, "done", reviewer, now)
            # A person's value of a repeating field (a unit's name) is a known value now.
            learn(c, field_id, latest[0] if latest else None, new_value, now)

    def mark_unreadable(self, field_id: int, reviewer: str) -> None:
        """Close a field's task as unreadable: the field stays in review in every export."""
        with self.engine.begin() as c:
            c.execute(
                update(t.fields).where(t.fields.c.id == field_id).values(review_state="unreadable")
            )
            self._close(c, field_id, "unreadable", reviewer, _now())

    @staticmethod
    def _close(c: Connection, field_id: int, state: str, reviewer: str, now: datetime) -> None:
        c.execute(
            update(t.review_tasks)
            .where(t.review_tasks.c.field_id == field_id)
            .values(
                state=state, closed_by=reviewer, closed_at=now, claimed_by=None, claimed_until=None
            )
        )

    def reopen(self, task_id: int) -> bool:
        """Put a closed task back in the queue; its corrections stay until a new one."""
        with self.engine.begin() as c:
            field_id = c.execute(
                select(t.review_tasks.c.field_id).where(t.review_tasks.c.id == task_id)
            ).scalar()
            if field_id is None:
                return False
            c.execute(
                update(t.review_tasks)
                .where(t.review_tasks.c.id == task_id)
                .values(state="open", closed_by=None, closed_at=None, claimed_by=None)
            )
            c.execute(
                update(t.fields).where(t.fields.c.id == field_id).values(review_state="pending")
            )
        return True

    # Group review

    def groups(self, reviewer: str, min_size: int = 2) -> list[tuple[str, str, int]]:
        """Open tasks of one field kind with one read value, as (key, value, count), biggest first.

        Only tasks nobody else holds count; a group is checked at a glance, as a grid.
        """
        query = (
            _task_query()
            .with_only_columns(t.fields.c.key, t.fields.c.value, func.count())
            .where(t.review_tasks.c.state == "open", _free_for(reviewer, _now()))
            .group_by(t.fields.c.key, t.fields.c.value)
            .having(func.count() >= min_size)
        )
        with self.engine.connect() as c:
            found = [(str(k), str(v), int(n)) for k, v, n in c.execute(query)]
        return sorted(found, key=lambda g: (-g[2], g[0], g[1]))

    def claim_group(
        self, key: str, value: str, reviewer: str, limit: int = 48, ttl: timedelta = CLAIM_TTL
    ) -> list[ReviewTask]:
        """Claim up to `limit` open tasks of field `key` that read `value`; the ones won."""
        now = _now()
        candidates = [
            task
            for task in self.review_queue()
            if task.key == key and task.value == value and task.corrected is None
        ]
        won: list[ReviewTask] = []
        with self.engine.begin() as c:
            self._release(c, reviewer, keep=None)
            for task in candidates:
                if len(won) < limit and self._claim(c, task.id, reviewer, now, ttl):
                    won.append(task)
        return won

    def holds(self, task_id: int, reviewer: str) -> bool:
        """Whether `reviewer` holds a live claim on an open task."""
        with self.engine.connect() as c:
            found = c.execute(
                select(t.review_tasks.c.id).where(
                    t.review_tasks.c.id == task_id,
                    t.review_tasks.c.state == "open",
                    t.review_tasks.c.claimed_by == reviewer,
                    t.review_tasks.c.claimed_until >= _now(),
                )
            ).first()
        return found is not None

    # Progress

    def progress(self, since: datetime) -> Progress:
        """Tasks left and held, and closed since `since` (the start of today), by reviewer."""
        tasks = t.review_tasks.c
        with self.engine.connect() as c:
            states: dict[str, int] = dict(
                c.execute(select(tasks.state, func.count()).group_by(tasks.state)).all()
            )
            claimed = c.execute(
                select(func.count()).where(
                    and_(tasks.state == "open", tasks.claimed_by.is_not(None)),
                    tasks.claimed_until >= _now(),
                )
            ).scalar()
            by_reviewer: dict[str, int] = dict(
                c.execute(
                    select(tasks.closed_by, func.count())
                    .where(tasks.closed_at >= since, tasks.closed_by.is_not(None))
                    .group_by(tasks.closed_by)
                ).all()
            )
        return Progress(
            open=int(states.get("open", 0)),
            claimed=int(claimed or 0),
            done_today=sum(int(n) for n in by_reviewer.values()),
            by_reviewer={str(k): int(v) for k, v in sorted(by_reviewer.items())},
            done_total=sum(int(n) for s, n in states.items() if s != "open"),
        )

    def closed_tasks(self, limit: int = 50) -> list[tuple[int, str, str, str | None, str]]:
        """The latest closed tasks, newest first: (id, file, field path, closed by, form type)."""
        query = (
            _task_query()
            .with_only_columns(
                t.review_tasks.c.id,
                t.documents.c.name,
                t.fields.c.key,
                t.fields.c.row,
                t.review_tasks.c.closed_by,
                t.forms.c.form_type,
            )
            .where(t.review_tasks.c.state != "open")
            .order_by(t.review_tasks.c.closed_at.desc(), t.review_tasks.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as c:
            return [
                (int(i), str(name), field_path(key, row), by, str(form_type))
                for i, name, key, row, by, form_type in c.execute(query)
            ]

    # The form page

    def form_view(self, form_id: int) -> FormView | None:
        """A current form's fields, boxes in its page images' pixels, and those images."""
        with self.engine.connect() as c:
            form = c.execute(
                select(
                    t.forms.c.id,
                    t.forms.c.seq,
                    t.forms.c.form_type,
                    t.forms.c.document_id,
                    t.documents.c.name,
                )
                .join(t.documents, t.documents.c.id == t.forms.c.document_id)
                .where(t.forms.c.id == form_id)
            ).first()
            if form is None:
                return None
            pages = {
                int(r.number): r
                for r in c.execute(
                    select(t.pages.c.id, t.pages.c.number, t.pages.c.image_transform).where(
                        t.pages.c.document_id == form.document_id,
                        t.pages.c.image_jpeg.is_not(None),
                    )
                )
            }
            reviewer = (
                select(t.corrections.c.reviewer)
                .where(t.corrections.c.field_id == t.fields.c.id)
                .order_by(t.corrections.c.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            rows = c.execute(
                select(t.fields, latest_correction().label("corrected"), reviewer.label("by"))
                .where(t.fields.c.form_id == form_id)
                .order_by(t.fields.c.ordinal)
            ).mappings()
            fields = [_field_view(r, pages) for r in rows]
        used = sorted({f.page for f in fields if f.page in pages})
        return FormView(
            id=form.id,
            file=form.name,
            form_type=form.form_type,
            seq=form.seq,
            fields=fields,
            pages=[
                PageView(
                    id=pages[n].id,
                    number=n,
                    width=pages[n].image_transform["size"][0],
                    height=pages[n].image_transform["size"][1],
                )
                for n in used
                if n is not None
            ],
        )

    def field_form(self, field_id: int) -> int | None:
        """The form a field belongs to."""
        with self.engine.connect() as c:
            found = c.execute(select(t.fields.c.form_id).where(t.fields.c.id == field_id)).scalar()
        return int(found) if found is not None else None

    def page_image(self, page_id: int) -> bytes | None:
        """The JPEG kept of a page for the form page, by the page's id."""
        with self.engine.connect() as c:
            value = c.execute(select(t.pages.c.image_jpeg).where(t.pages.c.id == page_id)).scalar()
        return bytes(value) if value is not None else None


def _field_view(r: Any, pages: dict[int, Any]) -> FieldView:
    page = pages.get(r["page"]) if r["page"] is not None else None
    box = None
    if page is not None and r["bbox"] is not None:
        x0, y0, x1, y1 = map_box(page.image_transform["matrix"], r["bbox"])
        box = (x0, y0, x1, y1)
    return FieldView(
        id=r["id"],
        path=field_path(r["key"], r["row"]),
        key=r["key"],
        row=r["row"],
        value=r["value"],
        current=r["corrected"] if r["corrected"] is not None else r["value"],
        confidence=r["confidence"],
        review_state=r["review_state"],
        page=r["page"],
        box=box,
        reviewed_by=r["by"],
    )
