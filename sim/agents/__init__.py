"""The five agent types, each a ``mesa.Agent`` placed on a node of the district graph."""

from .base import ArrayAgent
from .community import CommunityCommittee
from .resident import Resident
from .street import StreetCommittee
from .two_new import TwoNewOrganization
from .unit import ResidentUnit

__all__ = [
           "ArrayAgent",
           "CommunityCommittee",
           "Resident",
           "ResidentUnit",
           "StreetCommittee",
           "TwoNewOrganization",
]
