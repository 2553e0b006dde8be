"""subgroups: for whom does a treatment work, and how to run the next trial in those patients."""

from subgroups.analysis import Analysis, analyze, open_analysis
from subgroups.audit import Audit, audit_trial
from subgroups.data import TrialData, load_trial
from subgroups.errors import DataError, ParameterError, RunError, SubgroupsError
from subgroups.params import RunParams, load_params

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "Audit",
    "DataError",
    "ParameterError",
    "RunError",
    "RunParams",
    "SubgroupsError",
    "TrialData",
    "analyze",
    "audit_trial",
    "load_params",
    "load_trial",
    "open_analysis",
]
