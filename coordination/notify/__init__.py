"""Notifications: reaching people by their contact methods, with receipts (docs/notifications.md)."""
