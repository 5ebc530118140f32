"""Sentinel: finds call masking (SIM-box bypass, CLI spoofing, Wangiri, IRSF) in call detail records."""

__version__ = "0.1.0"
