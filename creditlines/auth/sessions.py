"""Console sessions ended by their sign-out (the sessions themselves live in signed cookies)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.auth.models import ConsoleSignOut


def session_id(session_token: str) -> str:
    """The stored name of a session: a hash of its random token, never the token itself."""
    return hashlib.sha256(b"console-session:" + session_token.encode()).hexdigest()


def end(session: Session, *, session_token: str, key_id: str, expires_at: datetime) -> None:
    """Record the sign-out (idempotent) and forget sign-outs of sessions that expired anyway."""
    now = clock.now()
    session.execute(delete(ConsoleSignOut).where(ConsoleSignOut.expires_at < now))
    sid = session_id(session_token)
    if session.get(ConsoleSignOut, sid) is None:
        session.add(ConsoleSignOut(session_id=sid, key_id=key_id, signed_out_at=now, expires_at=expires_at))
    session.flush()


def ended(session: Session, session_token: str) -> bool:
    return session.get(ConsoleSignOut, session_id(session_token)) is not None
