"""Per-request work that moto repeats and the local stack does not need repeated.

moto's server, its Step Functions interpreter and its DynamoDB all run in the stack's own
process, so their CPU per request bounds how many workflows the stack can run. These patches
change no behaviour, only how often the same work is done; they reach into moto 5.2.5 internals
(moto is pinned for that reason), and each one is skipped if the internal it patches is missing.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import importlib
import os
import pickle
import threading
from pathlib import Path
from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    for patch in (
        _remember_backend_for_host,
        _remember_response_methods,
        _parse_each_update_expression_once,
        _parse_each_definition_once,
        _parse_each_json_path_once,
        _reuse_interpreter_clients,
        _read_retention_period_directly,
        _answer_dynamodb_in_json_directly,
        _lex_each_condition_once,
        _walk_update_expressions_by_node_class,
        _copy_update_expressions_by_pickle,
    ):
        with contextlib.suppress(ImportError, AttributeError):
            patch()


def _remember_backend_for_host() -> None:
    """For every request the server lists moto's package directory (a stat per service) and
    matches the host against every service's URL patterns, under one lock: the answer for a
    host never changes, so remember it."""
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    DomainDispatcherApplication.get_backend_for_host = functools.lru_cache(maxsize=4096)(
        DomainDispatcherApplication.get_backend_for_host
    )


def _remember_response_methods() -> None:
    """Every request lists its response class's methods with inspect.getmembers, to check that
    the action exists: the classes do not change while the stack runs."""
    from moto.core import responses

    responses.method_names_from_class = functools.lru_cache(maxsize=None)(responses.method_names_from_class)


def _parse_each_update_expression_once() -> None:
    """Every UpdateItem parses its UpdateExpression twice (a pure-Python tokenizer and parser).
    The tree is only read, and deep-copied by moto's validator before anything changes it, so a
    tree per expression text can be shared (values are placeholders, so the texts repeat)."""
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    make = UpdateExpressionParser.make.__func__
    UpdateExpressionParser.make = classmethod(functools.lru_cache(maxsize=1024)(make))


def _parse_each_json_path_once() -> None:
    """The interpreter builds a new JSONPath parser (its LALR tables included) for every path it
    evaluates; parsed paths are immutable, so parse each text once."""
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    json_path.parse = functools.lru_cache(maxsize=1024)(json_path.parse)
    result_path.parse = functools.lru_cache(maxsize=1024)(result_path.parse)


def _parse_each_definition_once() -> None:
    """The interpreter parses the state machine's ASL with a pure-Python ANTLR parser for every
    execution (about as much CPU as the rest of a short execution). The evaluation components it
    builds keep no per-execution state (that lives in each execution's Environment), so one
    parse per definition serves every execution of it."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    programs: dict[str, Any] = {}
    lock = threading.Lock()

    def _get_evaluation_entrypoint(self):
        definition = self._evaluation_details.state_machine_details.definition
        with lock:
            program = programs.get(definition)
        if program is None:
            program = AmazonStateLanguageParser.parse(definition)[0]
            with lock:
                if len(programs) > 64:  # a long-lived stack whose machines keep changing
                    programs.clear()
                program = programs.setdefault(definition, program)
        return program

    ExecutionWorker._get_evaluation_entrypoint = _get_evaluation_entrypoint


def _reuse_interpreter_clients() -> None:
    """The interpreter builds a new boto3 client (about 10 ms of CPU, and a new connection) for
    every task it runs: keep one per service and region instead (boto3 clients are thread-safe).
    The interpreter's modules import the function by name, so each of them is patched."""
    from moto.core.models import botocore_stubber
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    clients: dict[tuple, Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto 5.2.5 ignores state_credentials; the endpoint depends on MOTO_PORT and the stubber.
        key = (region, service, os.environ.get("MOTO_PORT"), botocore_stubber.enabled)
        with lock:
            if key not in clients:
                clients[key] = original(region=region, service=service, state_credentials=state_credentials)
            return clients[key]

    boto_client.boto_client_for = boto_client_for
    # Only the modules that use it (importing the whole interpreter takes seconds).
    package = Path(boto_client.__file__).parents[1]  # moto/stepfunctions/parser/asl
    for path in package.rglob("*.py"):
        if path.stem == "boto_client" or "boto_client_for" not in path.read_text():
            continue
        name = ".".join(("moto.stepfunctions.parser.asl", *path.relative_to(package).with_suffix("").parts))
        try:
            module = importlib.import_module(name)
        except ImportError:  # parts of the vendored LocalStack parser that moto does not ship
            continue
        if getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = boto_client_for


def _read_retention_period_directly() -> None:
    """For every message it hands out, ReceiveMessage checks the queue's retention period by
    building all of the queue's attributes, which counts its messages (visible, delayed, in
    flight) one by one: with a backlog of n messages a receive costs O(n) per message. The
    retention period is one field of the queue; read it, with the same comparison."""
    from moto.core.utils import unix_time
    from moto.sqs.models import Message, SQSBackend

    def is_message_valid_based_on_retention_period(self, queue_name: str, message: Message) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return retention_period + message.sent_timestamp / 1000 > unix_time()  # type: ignore[operator]

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period


def _answer_dynamodb_in_json_directly() -> None:
    """moto serialises every DynamoDB answer by walking botocore's shape model value by value
    (about a third of a GetItem's CPU for a workflow item). DynamoDB's wire format is the JSON
    of moto's own item representation (each value already {"S": ...}, {"M": ...}, binary as
    base64), which moto's dynamo_json_dump writes, as moto itself did before 5.2: answer with
    that directly. Errors are still serialised by moto."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.models.utilities import dynamo_json_dump
    from moto.dynamodb.responses import DynamoResult

    def keep(self: Any, result: object) -> None:
        ActionResult.__init__(self, result)

    def as_json(self: Any, context: Any) -> tuple[int, dict[str, str], str]:
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, dynamo_json_dump(self.result)

    DynamoResult.__init__ = keep  # type: ignore[method-assign]
    DynamoResult.execute_result = as_json  # type: ignore[method-assign,assignment]


def _lex_each_condition_once() -> None:
    """Every conditional write (and filter, key condition) lexes its expression by trying six
    regular expressions at each position, in Python. The tokens depend only on the text, which
    repeats (values are placeholders): lex each text once, and hand out fresh token lists."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    lex = ConditionExpressionParser._lex_condition_expression

    @functools.lru_cache(maxsize=1024)
    def tokens(text: str) -> tuple:
        return tuple(lex(ConditionExpressionParser(text, None, None)))

    def _lex_condition_expression(self: Any) -> collections.deque:
        if not self.condition_expression:
            return lex(self)
        return collections.deque(token._replace(children=[]) for token in tokens(self.condition_expression))

    ConditionExpressionParser._lex_condition_expression = _lex_condition_expression


def _walk_update_expressions_by_node_class() -> None:
    """moto validates an UpdateExpression by walking its tree once per check (ten of them); at
    every node each walk rebuilds its table of node classes and tests the node against abstract
    classes (a slow isinstance). Whether a node is a tree node, and which of the walk's handlers
    applies to it, depend only on the classes: remember them. The walk is otherwise moto's."""
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node

    is_node: dict[type, bool] = {}
    handler_class: dict[tuple[type, type], type | None] = {}  # (walk, node class) -> map key

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        node_type = type(node)
        if node_type not in is_node:
            is_node[node_type] = isinstance(node, Node)
        if not is_node[node_type]:
            return node
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                self.pre_processing_of_child(node, i)
                self.traverse_node_recursively(child_node, i)
        key = (type(self), node_type)
        if key not in handler_class:
            # The first class of the map the node is an instance of, as moto's process() picks.
            handler_class[key] = next((k for k in self._processing_map() if isinstance(node, k)), None)
        if handler_class[key] is not None:
            node = self._processing_map()[handler_class[key]](node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
        return node

    DepthFirstTraverser.traverse_node_recursively = traverse_node_recursively


def _copy_update_expressions_by_pickle() -> None:
    """Each UpdateItem deep-copies the parsed UpdateExpression before validating it (validation
    rewrites the tree). A pickle round trip makes the same copy (shared nodes and parent links
    included) in half the time; anything that does not pickle is deep-copied as before."""
    from moto.dynamodb.parsing import validators

    def deepcopy(value: Any, memo: Any = None) -> Any:
        try:
            return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
        except Exception:  # noqa: BLE001 - moto's own copy
            return copy.deepcopy(value, memo)

    validators.deepcopy = deepcopy
