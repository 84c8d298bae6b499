"""Knowledge-induced rationale synthesis (KALE Part 1)."""
