"""Drop-in replacements for official APIs."""
