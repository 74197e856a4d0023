"""ingestctl command groups, one module per area, registered in ingestctl.cli."""
