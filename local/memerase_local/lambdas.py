"""The erasure job's Lambda tasks, created in moto and executed in-process by the project's own handlers.

moto's Step Functions interpreter invokes Lambda through moto's Lambda, which would start Docker; patching
`LambdaFunction.invoke` routes each invocation to `functions/<name>/app.py` instead.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3

from memerase_local.handlers import LambdaContext, handler_of

# infra/erasure_job.asl.json as the package ships it (in the checkout, a link to it)
ASL = Path(__file__).resolve().parent / "erasure_job.asl.json"
TASKS = {  # the ASL's DefinitionSubstitutions key -> handler folder, as template.yaml maps them
    "PlanFunctionArn": "job_plan",
    "EraseFunctionArn": "job_erase",
    "VerifyFunctionArn": "job_verify",
    "FinalizeFunctionArn": "job_finalize",
    "FailFunctionArn": "job_fail",
}
STATE_MACHINE = "memerase-erasure"
TASK_TIMEOUT_MS = 900_000  # the erase worker's timeout in template.yaml


@dataclass
class Dispatcher:
    """Stands in for moto's `LambdaFunction.invoke`: runs `functions/<name>/app.py` in this process.

    `faults[name]` runs before the handler and may raise (the tests' fault hook); `budget_ms[name]` is the clock
    that function's context reports; `invocations` counts the calls per function.
    """

    invocations: Counter[str] = field(default_factory=Counter)
    faults: dict[str, Callable[[dict[str, Any]], None]] = field(default_factory=dict)
    budget_ms: dict[str, Callable[[], int]] = field(default_factory=dict)

    def invoke(self, function: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        name = function.function_name
        event = json.loads(body.decode() if isinstance(body, bytes | bytearray) else body or "{}")
        self.invocations[name] += 1
        context = LambdaContext(name, self.budget_ms.get(name, lambda: TASK_TIMEOUT_MS))
        try:
            if name in self.faults:
                self.faults[name](event)
            result = handler_of(name)(event, context)
        except Exception as exc:  # as Lambda reports an unhandled error: errorType is the exception's class name
            response_headers["x-amz-function-error"] = "Unhandled"
            error_type = getattr(exc, "error_type", type(exc).__name__)  # e.g. "Sandbox.Timedout" for a timeout
            return json.dumps({"errorType": error_type, "errorMessage": str(exc)[:500]}).encode()
        return json.dumps(result).encode()


@contextmanager
def in_process_lambdas(dispatcher: Dispatcher | None = None) -> Iterator[Dispatcher]:
    """Route moto's Lambda invocations to `dispatcher` (a new one if none is given) while the block runs.

    The patch looks `dispatcher.invoke` up on every call, so a caller may wrap it after entering.
    """
    from moto.awslambda.models import LambdaFunction

    used = dispatcher if dispatcher is not None else Dispatcher()

    def invoke(function: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        return used.invoke(function, body, request_headers, response_headers)

    with mock.patch.object(LambdaFunction, "invoke", invoke):
        yield used


def definition(arns: dict[str, str]) -> str:
    """The ASL with its DefinitionSubstitutions applied, as SAM does."""
    text = ASL.read_text()
    for key, arn in arns.items():
        text = text.replace("${" + key + "}", arn)
    if "${" in text:
        raise ValueError("unsubstituted placeholder in the ASL")
    return text


def create_state_machine() -> str:
    """Create the task functions and the state machine in the AWS endpoint in use (moto); returns its ARN."""
    sfn = boto3.client("stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        if machine["name"] == STATE_MACHINE:
            return str(machine["stateMachineArn"])
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="memerase-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda")
    arns = {
        key: lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": _zip()}
        )["FunctionArn"]
        for key, name in TASKS.items()
    }
    return str(
        sfn.create_state_machine(name=STATE_MACHINE, definition=definition(arns), roleArn=role)["stateMachineArn"]
    )


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()
