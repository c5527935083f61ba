"""The matchmaker: a queue of tickets, paired by rating (``pairing``, pure), made into matches."""
