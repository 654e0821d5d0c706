"""The culture benchmark's use cases: instrument, waves and invitations, survey responses,
scoring and psychometrics through the pure engine :mod:`outsidein.culture`, norms and links.
"""

from __future__ import annotations

__all__: list[str] = []
