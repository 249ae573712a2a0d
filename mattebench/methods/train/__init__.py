"""Training: the shared loop (:func:`train`), batches and trimaps (:mod:`.batches`), shared losses (:mod:`.losses`)."""

from mattebench.methods.train.batches import (
    TRIMAP_RECIPE,
    BatchMaker,
    TrainingError,
    training_trimap,
)
from mattebench.methods.train.loop import TrainResult, schedule_factor, train

__all__ = ["train", "TrainResult", "TrainingError", "BatchMaker", "training_trimap", "schedule_factor", "TRIMAP_RECIPE"]
