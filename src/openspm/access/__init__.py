"""Users, authentication, roles and row-level scopes: the one authorisation mechanism.

Pure logic only (no database, no web): `passwords` (argon2), `tokens` (random secrets, hashed at rest),
`roles` (what each role may do and over which rows), `reporting` (who reports to whom, when).
"""
