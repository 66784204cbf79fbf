"""Reviewers' and admins' accounts in the store: `Store` takes these methods from `UserMethods`.

The store keeps only a password's hash (made by `pipeline.review.auth`), never the password.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from pipeline.store import schema as t
from pipeline.store.rows import User

ROLES = ("reviewer", "admin")


class UserMethods:
    """The accounts' half of `Store`."""

    engine: Engine

    def set_user(self, name: str, role: str, password_hash: str) -> bool:
        """Add an account, or give an existing one a new role and password; True when new.

        Raises:
            ValueError: The role is not one of `ROLES`, or the name is empty.

        """
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not name.strip():
            raise ValueError("a user needs a name")
        with self.engine.begin() as c:
            found = c.execute(select(t.users.c.id).where(t.users.c.name == name)).first()
            if found:
                c.execute(
                    update(t.users)
                    .where(t.users.c.id == found[0])
                    .values(role=role, password_hash=password_hash)
                )
                return False
            c.execute(
                t.users.insert().values(
                    name=name, role=role, password_hash=password_hash, created_at=datetime.now(UTC)
                )
            )
        return True

    def user(self, name: str) -> User | None:
        """The account called `name`, if there is one."""
        with self.engine.connect() as c:
            row = c.execute(select(t.users).where(t.users.c.name == name)).first()
        return User.model_validate(row._mapping) if row else None
