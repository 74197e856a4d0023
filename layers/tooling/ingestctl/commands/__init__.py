"""ingestctl sub-commands, one module per area, registered in cli.py."""
