"""Failed-login throttling: token buckets per account, per address and per pair.

Every login attempt takes a token from three buckets: the account's (from
any address), the client address's (for any account) and the pair's (this
account from this address), and a right password gives them back.  An
attempt that finds any of its buckets empty of failures' tokens is refused
with 429 and ``Retry-After`` *before* bcrypt runs, so a flood costs the server
nothing but a dictionary lookup.  Buckets refill steadily, so nobody is
locked out for longer than one token's refill after the attacker stops; the
right password forgives its own pair.

Tokens are taken when an attempt starts, so concurrent attempts cannot all
pass one check.  A bucket that is short only because attempts still being
checked hold its tokens does not refuse: the attempt is ``HELD`` and asks
again once one of them is decided.  So fifty people behind one address
logging in at once all get in (the right passwords give the tokens back),
while fifty concurrent guesses get the burst's worth of checks and 429s.

The shape answers the two threats with the least harm to real users:

- one address guessing at one account meets the pair's small bucket;
- one address guessing at many accounts meets the address's bucket;
- many addresses guessing at one account meet the account's bucket, which is
  large, so that one attacker alone cannot keep its owner out: the owner,
  from an address of their own, only meets it when the whole world is
  guessing at them.

Pure and synchronous; time comes in as an argument.  In memory, per process:
a restart forgets, and each node of a cluster counts on its own.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A bucket of ``burst`` failures that refills one every ``refill`` seconds."""

    burst: int
    refill: float


PAIR = Rule(burst=5, refill=12.0)  # 5 at once, then 5 a minute
ADDRESS = Rule(burst=20, refill=3.0)  # 20 at once, then 20 a minute
ACCOUNT = Rule(burst=50, refill=1.0)  # 50 at once, then 60 a minute from everywhere
#: Buckets kept at most; the least recently used go first (a full bucket
#: is the same as none, so forgetting one only ever forgives).
MAX_BUCKETS = 100_000
#: What ``acquire`` returns when the attempt must wait for attempts in flight.
HELD = -1


class LoginThrottle:
    def __init__(self, pair: Rule = PAIR, address: Rule = ADDRESS, account: Rule = ACCOUNT,
                 max_buckets: int = MAX_BUCKETS) -> None:
        self.rules = {"pair": pair, "address": address, "account": account}
        self.max_buckets = max_buckets
        #: (kind, key) -> (tokens left, when they were counted)
        self.buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()
        #: (kind, key) -> tokens taken by attempts not decided yet
        self.held: Counter[tuple[str, str]] = Counter()

    def _keys(self, account: str, address: str) -> list[tuple[str, str]]:
        account = account.lower()
        return [("pair", f"{account}\0{address}"), ("address", address), ("account", account)]

    def _tokens(self, key: tuple[str, str], now: float) -> float:
        rule = self.rules[key[0]]
        tokens, since = self.buckets.get(key, (float(rule.burst), now))
        return min(float(rule.burst), tokens + (now - since) / rule.refill)

    def acquire(self, account: str, address: str, now: float) -> int:
        """Take a token from each of the attempt's buckets, or say why not.

        Returns 0 when the attempt may go ahead: its tokens are taken now,
        before the password is checked, and it must be ``decided`` later.
        ``HELD`` when a bucket is short only of tokens that undecided
        attempts hold: ask again after one is decided.  Otherwise the seconds
        until the attempt could go ahead.
        """
        keys = self._keys(account, address)
        tokens = [self._tokens(key, now) for key in keys]
        wait, held = 0.0, False
        for key, left in zip(keys, tokens, strict=True):
            if left >= 1:
                continue
            if left + self.held[key] >= 1:
                held = True
            else:
                wait = max(wait, (1 - left) * self.rules[key[0]].refill)
        if wait > 0:
            return math.ceil(wait)
        if held:
            return HELD
        for key, left in zip(keys, tokens, strict=True):
            self.buckets[key] = (left - 1, now)
            self.buckets.move_to_end(key)
            self.held[key] += 1
        while len(self.buckets) > self.max_buckets:
            self.buckets.popitem(last=False)
        return 0

    def decided(self, account: str, address: str, now: float, *, right: bool) -> None:
        """An attempt that ``acquire`` let through was checked.  A wrong
        password (or a check that failed) keeps its tokens spent; the right
        one gives them back and forgives its pair's failures."""
        keys = self._keys(account, address)
        for key in keys:
            self.held[key] -= 1
            if self.held[key] <= 0:
                del self.held[key]
        if not right:
            return
        pair, *others = keys
        self.buckets.pop(pair, None)
        for key in others:
            if key in self.buckets:
                self.buckets[key] = (min(float(self.rules[key[0]].burst),
                                         self._tokens(key, now) + 1), now)
