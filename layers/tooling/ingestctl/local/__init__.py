"""`ingestctl local up`: the whole service on one machine, no Docker (contract §9, DESIGN "Local stack").

moto in server mode plays AWS; the functions of template.yaml run in Lambda-like worker processes fed
by an API Gateway emulator (HTTP) and an SQS event-source poller, exactly as the template wires them.
"""
