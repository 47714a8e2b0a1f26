"""Pure rules of the monitor: the fleet simulator, threshold rules and alerts. No SQL, no HTTP."""
