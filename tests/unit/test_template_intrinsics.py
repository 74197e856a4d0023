"""ingestctl resolves template.yaml's intrinsics as CloudFormation would with the parameters' defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestctl.local.template import UnsupportedTemplateProperty, resolved_resources, table_specs

TEMPLATE = """
Parameters:
  Protect: {Type: String, Default: "true"}
  Retention: {Type: Number, Default: 345600}
  Topic: {Type: String, Default: ""}
Conditions:
  IsProtected: !Equals [!Ref Protect, "true"]
  HasTopic: !Not [!Equals [!Ref Topic, ""]]
  Both: !And [!Condition IsProtected, !Condition HasTopic]
  Either: !Or [!Condition IsProtected, !Condition HasTopic]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      DeletionProtectionEnabled: !If [IsProtected, true, false]
      Tags:
        - !If [HasTopic, {Key: topic, Value: !Ref Topic}, !Ref AWS::NoValue]
        - {Key: both, Value: !If [Both, "yes", "no"]}
        - {Key: either, Value: !If [Either, "yes", "no"]}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: !Ref Retention
  OnlyWithTopic:
    Type: AWS::SQS::Queue
    Condition: HasTopic
"""


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


def test_parameter_defaults_and_conditions_are_resolved(template: Path) -> None:
    # Given a template whose properties depend on parameters
    # When it is resolved with the defaults
    table = resolved_resources(template)["Table"]["Properties"]
    # Then Fn::If follows the conditions and AWS::NoValue disappears from lists
    assert table["DeletionProtectionEnabled"] is True
    assert table["Tags"] == [{"Key": "both", "Value": "no"}, {"Key": "either", "Value": "yes"}]


def test_overrides_replace_defaults(template: Path) -> None:
    # Given overrides, as `sam deploy --parameter-overrides` gives them
    overrides = {"Protect": "false", "Topic": "arn:topic"}
    # When resolved
    resources = resolved_resources(template, overrides)
    # Then every condition follows the overrides
    assert resources["Table"]["Properties"]["DeletionProtectionEnabled"] is False
    assert {"Key": "topic", "Value": "arn:topic"} in resources["Table"]["Properties"]["Tags"]
    assert "OnlyWithTopic" in resources


def test_a_resource_whose_condition_is_false_does_not_exist(template: Path) -> None:
    # Given the default empty topic
    # When resolved
    resources = resolved_resources(template)
    # Then the conditional resource is left out, as CloudFormation would
    assert "OnlyWithTopic" not in resources
    assert resources["Queue"]["Properties"]["MessageRetentionPeriod"] == 345600


def test_a_table_property_the_local_stack_cannot_reproduce_is_an_error(tmp_path: Path) -> None:
    # Given a table with a property ingestctl does not know
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
        "      KeySchema: []\n      SomethingNew: {Enabled: true}\n",
        encoding="utf-8",
    )
    # When/Then reading its specs refuses instead of silently dropping it
    with pytest.raises(UnsupportedTemplateProperty, match="SomethingNew"):
        table_specs(path)
