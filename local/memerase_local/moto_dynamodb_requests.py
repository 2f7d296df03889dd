"""moto's DynamoDB, one request at a time.

moto 5.2.5's DynamoDB has no lock: a Query or a Scan walks a table's items (`Table.all_items`) in a Python loop, and a
PutItem or a DeleteItem on another thread that adds or removes an item meanwhile fails it with "dictionary changed
size during iteration": raised out of boto3 in-process (`mock_aws`), a 500 from moto's server, an answer the real
service never gives. Requests arrive at once wherever handlers run on threads of one process: the Map state's
workers in moto's Step Functions interpreter (the tests' harness, `memerase serve`), where one worker reads its job
while another writes its first checkpoint, and serve's HTTP threads. Served one at a time, as `moto_transactions`
already runs transactions, they get the answers they got before, without the race. Used by the local stand-ins, the
tests and the benchmarks (never deployed).
"""

from __future__ import annotations

import threading

from moto.dynamodb.responses import DynamoHandler

from memerase_local.one_at_a_time import serialise

_one_at_a_time = threading.RLock()


def serve_dynamodb_one_request_at_a_time() -> None:
    """Patch moto's DynamoDB request handler (idempotent: a second call changes nothing). The handler as moto has it
    stays reachable as `DynamoHandler.call_action.__wrapped__`."""
    serialise(DynamoHandler, "call_action", _one_at_a_time)
