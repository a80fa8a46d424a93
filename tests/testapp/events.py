import dataclasses

from eventbus import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProbeHappened(DomainEvent):
    """behaviour applies to handler probe_a only: ok | transient:N | permanent | slow:S | block | kill."""

    type = "com.mariopizzeria.test.probe"
    public = False
    behaviour: str = "ok"
