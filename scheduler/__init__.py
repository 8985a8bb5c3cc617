"""scheduler: time. The daemon, reminders, the delivery ledger, mail; the CLI (composition root)."""
