"""Live A/B experiments: the face that puts variants in front of real traffic and learns from it.

``Experiment`` (exported as ``copyloop.Experiment``) creates, assigns, records, decides, refreshes
and closes; see ``experiment.py`` for the life of one, ``analysis.py`` for the decision rule and
``stats.py`` for the statistics and the library choice.
"""

from copyloop.experiments.experiment import MAX_ARMS, Experiment
from copyloop.experiments.models import (
    CloseReport,
    Event,
    ExperimentStatus,
    FatigueStatus,
    RecordReport,
    RefreshReport,
    Variant,
    VariantStatus,
)
from copyloop.experiments.policy import ExperimentPolicy
from copyloop.experiments.store import ExperimentStore

__all__ = [
    "MAX_ARMS",
    "CloseReport",
    "Event",
    "Experiment",
    "ExperimentPolicy",
    "ExperimentStatus",
    "ExperimentStore",
    "FatigueStatus",
    "RecordReport",
    "RefreshReport",
    "Variant",
    "VariantStatus",
]
