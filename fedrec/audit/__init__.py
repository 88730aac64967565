"""Leakage audit: what an honest-but-curious server learns from the uploads it recorded."""

from fedrec.audit.attack import attack_scores, membership_auc, precision_at_k
from fedrec.audit.record import RecordedRound, load_round, save_round
from fedrec.audit.report import audit_run, audit_uploads

__all__ = [
    "RecordedRound",
    "attack_scores",
    "audit_run",
    "audit_uploads",
    "load_round",
    "membership_auc",
    "precision_at_k",
    "save_round",
]
