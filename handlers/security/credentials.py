"""Passwords, tokens and session keys: how each is made, stored and checked.

- Passwords are stored only as bcrypt hashes.  bcrypt reads at most 72 bytes,
  so it is fed the base64 SHA-256 of the password (44 bytes, no NUL), and it
  runs in a thread pool: bcrypt releases the GIL, the event loop never waits.
- API tokens are 40 hex characters derived from the server secret, the user's
  id and the user's token generation, so ``POST /api/token/`` returns the same
  token until it is deleted without the token ever being stored: the database
  holds only its SHA-256, and checking a token is one indexed lookup.
- Session cookies are random keys stored as SHA-256 digests, so a leaked
  database holds no usable session.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import bcrypt


def digest(secret_value: str) -> str:
    return hashlib.sha256(secret_value.encode()).hexdigest()


def derive_token(server_secret: bytes, user_id: str, generation: int) -> str:
    message = f"api-token:{user_id}:{generation}".encode()
    return hmac.new(server_secret, message, hashlib.sha256).hexdigest()[:40]


def new_key() -> str:
    return secrets.token_urlsafe(32)


def _prepare(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def _lower_priority() -> None:
    """Run this thread only when the CPU would otherwise idle.

    bcrypt releases the GIL, so its threads run beside the event loop; they
    should take only the CPU time the loop leaves, so that a storm of
    sign-ups slows the sign-ups, not the matches.  Linux's ``SCHED_IDLE``
    does that, and a waking event loop preempts such a thread at once; nice
    19 is the fallback where it is missing, weaker (a hashing thread can
    still hold the core for milliseconds).  Lowering one's own priority
    needs no privilege.
    """
    me = threading.get_native_id()
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, me, 19)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(me, os.SCHED_IDLE, os.sched_param(0))


class PasswordHasher:
    """bcrypt on a low-priority thread pool, with a fixed cost (lower it only for tests)."""

    def __init__(self, rounds: int = 12, workers: int = 2) -> None:
        self.rounds = rounds
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bcrypt",
                                           initializer=_lower_priority)
        self._dummy = bcrypt.hashpw(b"arena-dummy", bcrypt.gensalt(rounds))

    async def hash(self, password: str) -> bytes:
        loop = asyncio.get_running_loop()
        salt = bcrypt.gensalt(self.rounds)
        return await loop.run_in_executor(self.executor, bcrypt.hashpw, _prepare(password), salt)

    async def check(self, password: str, hashed: bytes | None) -> bool:
        """Check ``password``; with no hash (unknown user) spend the same time and fail."""
        loop = asyncio.get_running_loop()
        target = hashed if hashed is not None else self._dummy
        matches = await loop.run_in_executor(
            self.executor, bcrypt.checkpw, _prepare(password), target
        )
        return matches and hashed is not None

    def close(self) -> None:
        self.executor.shutdown(wait=False)
