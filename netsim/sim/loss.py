"""The loss models: moved to `netsim.link.loss` (both worlds use them); kept here by name."""

from netsim.link.loss import (
    DEFAULT_BURST,
    LOSS_MODELS,
    Bernoulli,
    GilbertElliott,
    LossModel,
    NoLoss,
    Periodic,
    Scripted,
    make_loss_model,
)

__all__ = ["DEFAULT_BURST", "LOSS_MODELS", "Bernoulli", "GilbertElliott", "LossModel", "NoLoss",
           "Periodic", "Scripted", "make_loss_model"]
