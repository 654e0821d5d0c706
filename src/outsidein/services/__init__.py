"""The use cases: read and write the warehouse and the store, call the engines.

One module or subpackage per capability: :mod:`~outsidein.services.data` (load and
inspect data), :mod:`~outsidein.services.value` (fit and score customer value),
:mod:`~outsidein.services.questions` (the five crucial questions),
:mod:`~outsidein.services.share` (insights, acknowledgement, ALLA, needs, alignment,
notifications), :mod:`~outsidein.services.publish` (analyses to insights),
:mod:`~outsidein.services.accounts` (people, roles, API keys) and
:mod:`~outsidein.services.pipeline` (run every analysis).  Import each from its module;
this package re-exports nothing so that importing one capability stays cheap.
"""

__all__: list[str] = []
