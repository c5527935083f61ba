"""What the end-to-end tests share: clients, bots, processes, clusters."""
