"""The composition root: builds the clients, wires the rooms into the core, runs the processes (web, worker,
scheduler, CLI, demo). Nothing imports ``app``; ``app`` imports the core (``bot``) and the rooms."""
