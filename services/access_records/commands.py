from dataclasses import dataclass


@dataclass(frozen=True)
class RecordAccess:
    org: str
    client_id: str
    action: str
    resource: str
    status: int
    request_id: str
    method: str
    case_id: str = ""
