"""Who is asking: passwords, sessions, tokens and cross-site request checks."""
