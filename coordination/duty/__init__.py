"""Duty rosters of jurisdictions and coordination bodies: who is on duty when (docs/rosters.md)."""
