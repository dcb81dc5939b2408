"""Re-upload monitoring and the takedown clock (issue 7).

Importing the package registers its session hooks (the hash index change feed, and the
time-to-removal of takedown referrals), so every process that writes content has them.
"""

from services.monitoring import index, takedown

__all__ = ["index", "takedown"]
