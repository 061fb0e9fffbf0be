"""Pure types and rules: ids, states, errors, validation. Nothing here does I/O."""
