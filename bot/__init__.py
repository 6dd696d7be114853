"""civicbot: the LINE bot core (webhook intake, worker, chat router, composition root)."""
