"""The delivery ledger: who gets reminded of which deadline when, and what became of it.

The ledger table is the truth; the daemon's scheduler holds no reminder.
"""
