"""The cluster: nodes on one database (membership) and the matches each holds (ownership)."""
