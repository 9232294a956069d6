"""Use cases (pull, plan, push, reconcile), one a module, wired by bootstrap."""
