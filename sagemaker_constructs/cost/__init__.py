"""Cost control: office-hours schedules for notebooks, per-team alerts and budgets."""
