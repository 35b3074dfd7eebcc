"""People: an officer's contact methods and the order they are tried in (docs/people.md)."""
