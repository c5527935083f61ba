"""The account rules of the contract, pure and free of I/O (Django's rules)."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from urllib.parse import urlsplit

USERNAME_MAX = 150
PASSWORD_MIN = 8
PASSWORD_MAX = 4096
MAX_SIMILARITY = 0.7

_USERNAME = re.compile(r"[\w.@+-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def username_errors(username: str) -> list[str]:
    if not _USERNAME.fullmatch(username):
        return ["Enter a valid username. This value may contain only letters, numbers, "
                "and @/./+/-/_ characters."]
    return []


def password_errors(password: str, username: str) -> list[str]:
    errors = []
    if len(password) < PASSWORD_MIN:
        errors.append("This password is too short. It must contain at least "
                      f"{PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        errors.append(f"This password is too long (at most {PASSWORD_MAX} characters).")
    if password.isdigit():
        errors.append("This password is entirely numeric.")
    if _too_similar(password, username):
        errors.append("The password is too similar to the username.")
    return errors


def email_errors(email: str) -> list[str]:
    if email and not _EMAIL.fullmatch(email):
        return ["Enter a valid email address."]
    return []


def _too_similar(password: str, username: str) -> bool:
    """Django's UserAttributeSimilarityValidator, for the username."""
    password = password.lower()
    value = username.lower()
    for part in [*re.split(r"\W+", value), value]:
        if not part or _exceeds_length_ratio(password, part):
            continue
        if SequenceMatcher(a=password, b=part).quick_ratio() >= MAX_SIMILARITY:
            return True
    return False


def _exceeds_length_ratio(password: str, value: str) -> bool:
    """Django's shortcut: a much longer password cannot be similar to a short value."""
    bound = MAX_SIMILARITY / 2 * len(password)
    return len(password) >= 10 * len(value) and len(value) < bound


def safe_redirect(target: str | None) -> str:
    """``target`` when it is a path on this server, else ``/`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if any(ch in target for ch in "\\\r\n\t") or urlsplit(target).netloc:
        return "/"
    return target
