"""`ingestctl local up`: the whole service on one machine, no Docker (contract §9, DESIGN "Local stack").

moto in server mode plays AWS; the functions of template.yaml run in Lambda-like worker processes fed
by an API Gateway emulator (HTTP) and an SQS event-source poller, exactly as the template wires them.
"""

# Warm consumer environments, one SQS poller each. Lambda runs up to the event source's MaximumConcurrency
# (the template's ConsumerMaxConcurrency, 5 by default) consumer invocations at once. The consumer mostly
# waits on moto (a batch's calls are sequential), so two left moto idle between them: `make
# bench-local-stack`, batch mode, same loaded 2 cores: 59 records/s with 2 pollers, 86 with 3.
DEFAULT_CONSUMER_CONCURRENCY = 3
