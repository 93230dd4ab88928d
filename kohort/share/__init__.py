"""The public share page `GET /r/{code}`: the group of a share code, for the friends the code
is shared with (no key, no personal data)."""
