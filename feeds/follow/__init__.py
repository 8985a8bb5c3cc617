"""Following each item to its own page: main text, page dates, polite and safe fetching."""
