"""Pure domain code: contact values, planners, policies. No I/O."""
