"""Failed-login throttling: token buckets per account, per address and per pair.

Every login attempt takes a token from three buckets: the account's (from
any address), the client address's (for any account) and the pair's (this
account from this address), and a right password gives them back.  An
attempt that finds any of its buckets empty is refused with 429 and
``Retry-After`` *before* bcrypt runs, so a flood costs the server nothing but
a dictionary lookup.  Buckets refill
steadily, so nobody is locked out for longer than one token's refill after
the attacker stops; the right password forgives its own pair.

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
from collections import OrderedDict
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


class LoginThrottle:
    def __init__(self, pair: Rule = PAIR, address: Rule = ADDRESS, account: Rule = ACCOUNT,
                 max_buckets: int = MAX_BUCKETS) -> None:
        self.rules = {"pair": pair, "address": address, "account": account}
        self.max_buckets = max_buckets
        #: (kind, key) -> (tokens left, when they were counted)
        self.buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def _keys(self, account: str, address: str) -> list[tuple[str, str]]:
        account = account.lower()
        return [("pair", f"{account}\0{address}"), ("address", address), ("account", account)]

    def _tokens(self, key: tuple[str, str], now: float) -> float:
        rule = self.rules[key[0]]
        tokens, since = self.buckets.get(key, (float(rule.burst), now))
        return min(float(rule.burst), tokens + (now - since) / rule.refill)

    def acquire(self, account: str, address: str, now: float) -> int:
        """Take a token from each of the attempt's buckets, or say how long to wait.

        Returns 0 when the attempt may go ahead (its tokens are taken now,
        before the password is checked, so concurrent attempts cannot all
        pass one check), else the seconds until it could.
        """
        keys = self._keys(account, address)
        tokens = [self._tokens(key, now) for key in keys]
        wait = max((1 - left) * self.rules[key[0]].refill
                   for key, left in zip(keys, tokens, strict=True))
        if wait > 0:
            return math.ceil(wait)
        for key, left in zip(keys, tokens, strict=True):
            self.buckets[key] = (left - 1, now)
            self.buckets.move_to_end(key)
        while len(self.buckets) > self.max_buckets:
            self.buckets.popitem(last=False)
        return 0

    def succeeded(self, account: str, address: str, now: float) -> None:
        """The password was right: the attempt's tokens go back, and the
        pair's failures are forgiven."""
        pair, *others = self._keys(account, address)
        self.buckets.pop(pair, None)
        for key in others:
            if key in self.buckets:
                self.buckets[key] = (min(float(self.rules[key[0]].burst),
                                         self._tokens(key, now) + 1), now)
