"""Audits: point lossrecon at your own Flower App or PyTorch model and read what its loss
leaks — every split it reports, the defenses measured on it, a report to hand on.

:func:`audit_flower` runs a Flower App unchanged in Flower's simulation engine against
a malicious ServerApp; :func:`audit_torch` audits a model and data in hand;
:func:`write_report` writes ``report.html``, ``report.json`` and one ``client-<id>.npz``
per client and split.
"""

from lossrecon.audit.results import AuditResult, SplitResult
from lossrecon.audit.runs import audit_flower, audit_torch

__all__ = ["AuditResult", "SplitResult", "audit_flower", "audit_torch"]
