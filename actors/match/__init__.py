"""One live match: the actor (``actors.match.actor``) and what it is made of."""
