"""Dashboard users: accounts (Argon2id passwords, optional TOTP), memberships of
organizations with a role, server-side sessions, single-use e-mailed links (invitations,
password resets) and the throttling of failed sign-ins."""
