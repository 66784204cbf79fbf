"""Signed-in browsers in the store: `Store` takes these methods from `SessionMethods`.

The cookie holds a random token; the store keeps only its SHA-256, so a copy of the database
signs nobody in. A session ends when its user signs out, when its time is up, or when the
user's account changes (role, password, disabled, removed): `end_user_sessions`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, select

from pipeline.store import schema as t
from pipeline.store.rows import User


def token_digest(token: str) -> str:
    """What the store keeps of a session's token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def end_user_sessions(c: Connection, user_id: int) -> None:
    """End every session of one user, in the caller's transaction."""
    c.execute(delete(t.sessions).where(t.sessions.c.user_id == user_id))


class SessionMethods:
    """The sessions' part of `Store`."""

    engine: Engine

    def start_session(self, user_id: int, token: str, expires_at: datetime) -> None:
        """Record a new session for the user; expired ones of anybody's go at the same time."""
        now = datetime.now(UTC)
        with self.engine.begin() as c:
            c.execute(delete(t.sessions).where(t.sessions.c.expires_at < now))
            c.execute(
                t.sessions.insert().values(
                    id=token_digest(token), user_id=user_id, created_at=now, expires_at=expires_at
                )
            )

    def session_user(self, token: str) -> User | None:
        """The user of a live session: not ended, not expired, the account enabled."""
        with self.engine.connect() as c:
            row = c.execute(
                select(t.users)
                .join(t.sessions, t.sessions.c.user_id == t.users.c.id)
                .where(
                    t.sessions.c.id == token_digest(token),
                    t.sessions.c.expires_at > datetime.now(UTC),
                    t.users.c.disabled.is_(False),
                )
            ).first()
        return User.model_validate(row._mapping) if row else None

    def end_session(self, token: str) -> None:
        """End one session (sign-out)."""
        with self.engine.begin() as c:
            c.execute(delete(t.sessions).where(t.sessions.c.id == token_digest(token)))
