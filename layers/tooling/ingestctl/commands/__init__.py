"""ingestctl sub-commands, one module per area, registered in `ingestctl.cli`."""
