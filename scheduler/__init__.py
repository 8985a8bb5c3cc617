"""scheduler: time. The daemon, reminders, the delivery ledger, mail, and the CLI (composition root)."""
