from dataclasses import dataclass


@dataclass(frozen=True)
class CreateOrg:
    id: str
    kind: str
    name: str
