from creditlines.db.base import Base, UTCDateTime
from creditlines.db.engine import UnitOfWork, is_postgresql, make_engine

__all__ = ["Base", "UTCDateTime", "UnitOfWork", "is_postgresql", "make_engine"]
