"""`python -m scheduler` runs the feedline CLI."""

from scheduler.cli import main

main()
