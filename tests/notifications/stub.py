"""The provider stub lives with the simulation (it fails a share of requests there); re-exported here."""

from simulation.providerstub import ProviderStub

__all__ = ["ProviderStub"]
