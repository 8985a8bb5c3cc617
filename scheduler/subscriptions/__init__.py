"""People subscribing themselves: sign-up, double opt-in, preferences, digests (issue 13)."""
