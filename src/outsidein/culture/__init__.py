"""The market-culture engine: survey scoring, reliability, validity, aggregation, anonymity,
norms and links to performance and engagement.

Pure like :mod:`outsidein.value`: maths only (numpy, pandas, scipy, semopy), no I/O; its use
cases are in :mod:`outsidein.services.culture`, its pages in ``web/routes/``, its commands in
``cli/culture.py`` and its report section in ``report/sections/``.  The public API is listed in
``docs/culture-engine.md``.

>>> from outsidein.culture import COMPONENTS, MO_COMPONENTS
>>> len(MO_COMPONENTS), COMPONENTS[-2:]
(6, ('engagement', 'performance'))
"""

from outsidein.culture.aggregation import ICC, AggregationResult, aggregation, icc, rwg_j
from outsidein.culture.analysis import WaveAnalysis, analyse_wave
from outsidein.culture.anonymity import (
    ALL,
    NOT_GIVEN,
    AnonymityRules,
    disclosed_comments,
    disclosed_scores,
    disclosure,
)
from outsidein.culture.cfa import ComponentCFA, FitIndices, lavaan_syntax, srmr
from outsidein.culture.instrument import (
    COMPONENT_LABELS,
    COMPONENTS,
    ENGAGEMENT,
    MO_COMPONENTS,
    PERFORMANCE,
    RESERVED_COLUMNS,
    Instrument,
    InstrumentProblem,
    Item,
    build_instrument,
    parse_instrument,
)
from outsidein.culture.invariance import MeasurementInvariance
from outsidein.culture.links import (
    MIN_KPI_POINTS,
    CrossLaggedResult,
    LinkResult,
    cross_lagged,
    engagement_link,
    kpi_link,
    performance_link,
)
from outsidein.culture.norms import (
    NORM_MODEL,
    SIZE_BANDS,
    GapResult,
    illustrative_norms,
    percentile_rank,
    percentile_ranks,
    size_band,
    top_quartile_gaps,
)
from outsidein.culture.reliability import (
    ComponentReliability,
    ReliabilityResult,
    corrected_item_total,
    cronbach_alpha,
    omega_total,
    reliability,
)
from outsidein.culture.scoring import (
    ID_COLUMNS,
    aggregate_scores,
    check_responses,
    item_scores,
    key_items,
    score_respondents,
)
from outsidein.culture.simulate import (
    DEPARTMENTS,
    INDUSTRIES,
    ROLES,
    SimulatedSurvey,
    simulate_survey,
)

__all__: list[str] = [
    # instrument
    "COMPONENTS", "COMPONENT_LABELS", "ENGAGEMENT", "MO_COMPONENTS", "PERFORMANCE",
    "RESERVED_COLUMNS", "Instrument", "InstrumentProblem", "Item", "build_instrument",
    "parse_instrument",
    # scoring
    "ID_COLUMNS", "aggregate_scores", "check_responses", "item_scores", "key_items",
    "score_respondents",
    # reliability and validity
    "ComponentReliability", "ReliabilityResult", "corrected_item_total", "cronbach_alpha",
    "omega_total", "reliability", "ComponentCFA", "FitIndices", "lavaan_syntax", "srmr",
    "MeasurementInvariance",
    # aggregation and anonymity
    "ICC", "AggregationResult", "aggregation", "icc", "rwg_j", "ALL", "NOT_GIVEN",
    "AnonymityRules", "disclosed_comments", "disclosed_scores", "disclosure",
    # norms and links
    "NORM_MODEL", "SIZE_BANDS", "GapResult", "illustrative_norms", "percentile_rank",
    "percentile_ranks", "size_band", "top_quartile_gaps", "CrossLaggedResult", "LinkResult",
    "cross_lagged", "engagement_link", "performance_link", "MIN_KPI_POINTS", "kpi_link",
    # simulation and the one call per wave
    "DEPARTMENTS", "INDUSTRIES", "ROLES", "SimulatedSurvey", "simulate_survey",
    "WaveAnalysis", "analyse_wave",
]
