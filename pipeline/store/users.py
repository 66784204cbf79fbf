"""Reviewers' and admins' accounts in the store: `Store` takes these methods from `UserMethods`.

The store keeps only a password's hash (made by `pipeline.review.auth`), never the password.
Any change to an account that matters to who may do what (role, password, disabled, removed)
ends the account's sessions in the same transaction, so it holds from the next request on.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, select, update

from pipeline.store import schema as t
from pipeline.store.rows import User
from pipeline.store.sessions import end_user_sessions

ROLES = ("reviewer", "admin")
MAX_NAME = 200  # the `users.name` column's width


def name_problem(name: str) -> str | None:
    """Why `name` cannot be an account's name, or None when it can."""
    if not name.strip():
        return "a user needs a name"
    if name != name.strip():
        return f"a user name cannot start or end with a space: {name!r}"
    if len(name) > MAX_NAME:
        return f"a user name has at most {MAX_NAME} characters"
    if any(unicodedata.category(c).startswith("C") for c in name):
        return f"a user name cannot hold control characters: {name!r}"
    return None


class UserMethods:
    """The accounts' half of `Store`."""

    engine: Engine

    def set_user(self, name: str, role: str, password_hash: str) -> bool:
        """Add an account, or give an existing one a new role and password; True when new.

        An existing account's sessions end, and its lock is lifted with the new password.

        Raises:
            ValueError: The role is not one of `ROLES`, or the name is not a name.

        """
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        problem = name_problem(name)
        if problem:
            raise ValueError(problem)
        with self.engine.begin() as c:
            found = _user_id(c, name)
            if found is not None:
                c.execute(
                    update(t.users)
                    .where(t.users.c.id == found)
                    .values(
                        role=role, password_hash=password_hash, failed_signins=0, locked_until=None
                    )
                )
                end_user_sessions(c, found)
                return False
            c.execute(
                t.users.insert().values(
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    created_at=datetime.now(UTC),
                    disabled=False,
                    failed_signins=0,
                )
            )
        return True

    def user(self, name: str) -> User | None:
        """The account called `name`, if there is one."""
        with self.engine.connect() as c:
            row = c.execute(select(t.users).where(t.users.c.name == name)).first()
        return User.model_validate(row._mapping) if row else None

    def users(self) -> list[User]:
        """Every account, by name."""
        with self.engine.connect() as c:
            rows = c.execute(select(t.users).order_by(t.users.c.name))
            return [User.model_validate(r._mapping) for r in rows]

    def set_disabled(self, name: str, disabled: bool) -> bool:
        """Disable an account (its sessions end) or enable it again; False if there is none."""
        with self.engine.begin() as c:
            found = _user_id(c, name)
            if found is None:
                return False
            c.execute(update(t.users).where(t.users.c.id == found).values(disabled=disabled))
            if disabled:
                end_user_sessions(c, found)
        return True

    def remove_user(self, name: str) -> bool:
        """Delete an account: its sessions end and its claims go back to the queue.

        Its corrections stay, under its name: they are the fields' history.
        """
        with self.engine.begin() as c:
            found = _user_id(c, name)
            if found is None:
                return False
            end_user_sessions(c, found)
            c.execute(
                update(t.review_tasks)
                .where(t.review_tasks.c.claimed_by == name)
                .values(claimed_by=None, claimed_until=None)
            )
            c.execute(delete(t.users).where(t.users.c.id == found))
        return True

    def unlock(self, name: str) -> bool:
        """Lift the lock failed sign-ins put on an account; False if there is none."""
        with self.engine.begin() as c:
            result = c.execute(
                update(t.users)
                .where(t.users.c.name == name)
                .values(failed_signins=0, locked_until=None)
            )
        return result.rowcount == 1

    def signin_failed(self, name: str, lock_for: Callable[[int], timedelta | None]) -> User | None:
        """Count a failed sign-in, and lock the account for `lock_for(failures in a row)`.

        Returns the account as it now is; None when there is no such account.
        """
        now = datetime.now(UTC)
        with self.engine.begin() as c:
            c.execute(
                update(t.users)
                .where(t.users.c.name == name)
                .values(failed_signins=t.users.c.failed_signins + 1)
            )
            row = c.execute(select(t.users).where(t.users.c.name == name)).first()
            if row is None:
                return None
            wait = lock_for(int(row.failed_signins))
            if wait is not None:
                c.execute(
                    update(t.users).where(t.users.c.id == row.id).values(locked_until=now + wait)
                )
                row = c.execute(select(t.users).where(t.users.c.id == row.id)).one()
        return User.model_validate(row._mapping)

    def signin_passed(self, name: str) -> None:
        """A good sign-in: the failures in a row start again from none."""
        with self.engine.begin() as c:
            c.execute(
                update(t.users)
                .where(t.users.c.name == name, t.users.c.failed_signins != 0)
                .values(failed_signins=0, locked_until=None)
            )


def _user_id(c: Connection, name: str) -> int | None:
    found = c.execute(select(t.users.c.id).where(t.users.c.name == name)).scalar()
    return int(found) if found is not None else None
