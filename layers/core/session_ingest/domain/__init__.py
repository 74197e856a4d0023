"""Pure domain: models, mapping, normalisation and matching rules. No boto3, no I/O."""
