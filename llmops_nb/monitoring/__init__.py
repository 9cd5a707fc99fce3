"""Monitoring the generation log: operational figures and calibrated drift of prompts and outputs between a
current window and a reference (api.monitor), and each model's last verdict (store)."""
from .api import monitor, text_view
from .report import DriftResult, MonitorReport
from .store import monitored_models

__all__ = ["DriftResult", "MonitorReport", "monitor", "monitored_models", "text_view"]
