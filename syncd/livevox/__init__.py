"""Typed client for the LiveVox Contact API (imports nothing else of syncd)."""
