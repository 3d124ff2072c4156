"""The state-machine picture in docs/ is generated from the ASL (tools/render_state_machine.py)
and must be current; the generator draws any ASL, not only today's."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from tools.render_state_machine import (
    ASL,
    DOT_FILE,
    SVG_FILE,
    build_graph,
    layout,
    render,
    to_dot,
    to_svg,
)

# A race of a Wait against a task token, as a Parallel whose branches end in named errors that
# its Catch routes: the shape the failover may take; plus a Map, a Retry and a loop.
RACE_ASL = {
    "StartAt": "Send",
    "States": {
        "Send": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Decide"}],
            "Next": "Await",
        },
        "Await": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Wait",
                    "States": {
                        "Wait": {"Type": "Wait", "SecondsPath": "$.send.wait_seconds", "Next": "Expired"},
                        "Expired": {"Type": "Fail", "Error": "Step.Expired"},
                    },
                },
                {
                    "StartAt": "Token",
                    "States": {
                        "Token": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::aws-sdk:dynamodb:updateItem.waitForTaskToken",
                            "Next": "Decided",
                        },
                        "Decided": {"Type": "Fail", "Error": "Step.Decided"},
                    },
                },
            ],
            "Catch": [{"ErrorEquals": ["Step.Expired", "Step.Decided"], "Next": "Decide"}],
            "End": True,
        },
        "Decide": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.read.status.S", "StringEquals": "completed", "Next": "Done"},
                {
                    "And": [
                        {"Variable": "$.retry", "IsPresent": True},
                        {"Variable": "$.retry.count", "NumericLessThan": 3},
                    ],
                    "Next": "Each",
                },
            ],
            "Default": "Next step",
        },
        "Each": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}},
            "Next": "Done",
        },
        "Next step": {
            "Type": "Pass",
            "Parameters": {"step.$": "States.MathAdd($.step, 1)", "id.$": "$.id"},
            "Next": "Send",
        },
        "Done": {"Type": "Succeed"},
    },
}


def state_names(states: dict) -> set[str]:
    names = set(states)
    for state in states.values():
        for branch in state.get("Branches", []) + [state.get("ItemProcessor") or {}]:
            names |= state_names(branch.get("States", {}))
    return names


def test_the_committed_picture_is_generated_from_the_current_asl():
    dot, svg = render()

    assert DOT_FILE.read_text() == dot, "docs/state-machine.dot is stale: run `make diagram`"
    assert SVG_FILE.read_text() == svg, "docs/state-machine.svg is stale: run `make diagram`"


@pytest.mark.parametrize("asl", [json.loads(ASL.read_text()), RACE_ASL], ids=["workflow", "race"])
def test_every_state_is_drawn_once(asl):
    names = state_names(asl["States"])

    svg = ElementTree.fromstring(to_svg(build_graph(asl), "title"))

    # A state inside a Parallel is drawn as "<parallel>/<branch>/<state>"; Start is no state.
    ids = [g.get("id") for g in svg.iter("{http://www.w3.org/2000/svg}g")]
    drawn = [node_id.rsplit("/", 1)[-1] for node_id in ids if not node_id.startswith("__")]
    assert sorted(drawn) == sorted(names)


def test_a_parallel_race_is_framed_and_its_named_errors_routed_by_its_catch():
    graph = build_graph(RACE_ASL)

    dot = to_dot(graph, "race")
    assert 'subgraph "cluster_Await" {' in dot and 'subgraph "cluster_Each" {' in dot
    # Each branch ends by failing with its error: the join, then the Parallel's Catch
    assert '"Await/0/Expired" -> "Await/join"' in dot and '"Await/1/Decided" -> "Await/join"' in dot
    assert '"Await/join" -> "Decide" [' in dot and "catch Step.Expired, Step.Decided" in dot
    assert '"Send" -> "Decide" [' in dot and "catch any error" in dot
    # Nodes say what they do: integration, retries, the Pass's computation, the Choice rules
    assert "Lambda invoke · retry ×2" in dot
    assert "DynamoDB updateItem, waits for its task token" in dot
    assert "step = step + 1" in dot
    assert "read.status = completed" in dot and "retry.count < 3" in dot and "present" not in dot
    svg = to_svg(graph, "race")
    ElementTree.fromstring(svg)  # well-formed
    assert svg.count('stroke-dasharray="5,3"') == 2  # one frame per Parallel/Map


def test_the_loop_back_is_marked_and_the_exits_are_not():
    graph = build_graph(RACE_ASL)

    loops = {(edge.src, edge.dst) for edge in graph.edges if edge.loop}

    assert ("Next step", "Send") in loops and ("Decide", "Next step") in loops
    assert ("Decide", "Done") not in loops and ("Each/join", "Done") not in loops


def test_no_two_boxes_of_a_layer_overlap():
    for asl in (RACE_ASL, json.loads(ASL.read_text())):
        placed = layout(build_graph(asl))

        for row in placed.layers:
            boxes = sorted((placed.boxes[box_id] for box_id in row), key=lambda box: box.x)
            for left, right in zip(boxes, boxes[1:], strict=False):
                assert left.x + left.width / 2 < right.x - right.width / 2, (left.id, right.id)
