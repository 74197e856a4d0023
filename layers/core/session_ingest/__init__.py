"""Session ingest: the shared code of the ingest API and consumer Lambdas (deployed as a layer)."""
