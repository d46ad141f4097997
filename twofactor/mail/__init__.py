"""Security alert emails: rendering and delivery."""
