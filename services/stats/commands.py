from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReadStatistics:
    start: datetime
    end: datetime  # exclusive
    by_month: bool = False
