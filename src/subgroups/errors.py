"""Error types. A user error is one line that says what is wrong, where, and what to do."""


class SubgroupsError(Exception):
    """Base class for every error the suite raises on purpose."""


class ParameterError(SubgroupsError, ValueError):
    """A parameter file or override is invalid."""


class DataError(SubgroupsError, ValueError):
    """The input data cannot be analysed as specified."""


class RunError(SubgroupsError, RuntimeError):
    """A notebook run failed; the message names the notebook and the reason."""


class NotebookError(RuntimeError):
    """A report notebook raised an error that is not the user's to fix (a bug): not a `SubgroupsError`, so the
    command line reports it as an internal error with a log file; the run is still marked failed."""


class ConstantEffectWarning(UserWarning):
    """Calibrated per-patient effects are one number: the calibration factor (posterior mean of the held-out slope) is 0."""
