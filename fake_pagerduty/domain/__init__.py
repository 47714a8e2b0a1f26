"""Pure rules of the sandbox: no SQL, no HTTP."""
