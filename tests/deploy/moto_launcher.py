"""Start moto's server with compatibility fixes for moto 5.2.5 bugs; the deploy test runs it.

    python tests/deploy/moto_launcher.py -H 127.0.0.1 -p PORT   # moto.server's arguments

Each fix below corrects one moto bug or gap that made the real server crash, reject a valid
template, or silently lose state while `cdk deploy` ran the example app. None of them mocks or
bypasses anything of this project: the CLI, the app and its templates run unchanged against
the real moto server; only moto's own handlers are corrected before it starts serving.

1. ``AWS::KMS::Key`` from CloudFormation (``fix_kms_key_from_cloudformation``). moto hands
   the template's properties unchanged to its KMS backend, which expects the KMS API's
   shapes: ``Tags`` as ``[{"TagKey", "TagValue"}]`` (CloudFormation's are ``[{"Key",
   "Value"}]``) and ``KeyPolicy`` as a JSON string (CloudFormation's is an object).
   A tagged key raises ``KeyError: 'TagKey'`` inside ExecuteChangeSet: the key and every
   resource after it are never registered, yet the stack reports ``CREATE_COMPLETE`` and
   ListStackResources answers HTTP 500 from then on. An object policy makes every later
   DescribeKey on the key fail with HTTP 500 (``json.loads`` of a dict). The fix converts
   both to the KMS API shapes before moto's handler runs.

2. Notebook instance types (``fix_notebook_instance_types``). moto checks ``InstanceType``
   against a stale hand-written list (no ``ml.g5.*``, ``ml.g4dn.*``, ``ml.r5.*``, ...), so
   a valid ``ml.g5.xlarge`` notebook fails with ValidationException. The fix checks against
   the enum of the CreateNotebookInstance API model shipped in botocore (what the service
   accepts); an unknown type is still rejected with moto's message.

3. Outputs of stacks created by a change set (``fix_change_set_outputs``). ``cdk deploy``
   creates stacks with CreateChangeSet + ExecuteChangeSet; moto builds the stack's outputs
   (and description) from the empty placeholder template of CreateChangeSet and never
   again, so DescribeStacks shows no outputs. The fix rebuilds them from the executed
   template, as UpdateStack in moto already does.

4. Unchanged parameters on UpdateStack (``fix_update_previous_parameters``). ``cdk deploy
   --method=direct`` sends ``UsePreviousValue: true`` for parameters it leaves alone, here
   the CDK's ``BootstrapVersion`` (an SSM parameter with a template default). moto looks the
   previous value up only among the parameters *passed* at creation, not the defaults it
   used, and UpdateStack fails with ``KeyError: 'BootstrapVersion'`` (HTTP 500, which the
   CLI retries for ~40 s before failing). A parameter never passed had its template
   default, which CloudFormation reuses; the fix leaves such a parameter out of the update
   so moto applies the template default again.

5. Changed resources moto cannot update (``fix_resources_without_update``). On UpdateStack,
   a changed resource whose moto model has no update handler (here the team's
   ``AWS::IAM::ManagedPolicy`` when a user, hence a role, is added) is replaced in the
   stack's resource map by ``None``: the resource still exists in moto's IAM, but the stack
   no longer lists it (nor would delete it). The fix keeps the stack's existing resource.
   moto still does not apply the change itself (the policy keeps its old roles); the deploy
   test checks such properties on the synthesized templates, not in moto.

6. ``Fn::GetAtt`` of a resource moto does not model (``fix_intrinsics``). moto
   skips resources of types it does not model (the Studio domain, user profiles, images,
   ...) and resolves a ``Ref`` to one to nothing, but an ``Fn::GetAtt`` of one fails:
   in a stack's Outputs with ``AttributeError`` (HTTP 500 on CreateStack), in a modeled
   resource's properties with "references undefined resource" although it is defined.
   The fix resolves such a GetAtt to a placeholder, visible as such in DescribeStacks:
   ``unmodeled-<LogicalId>-<Attribute>``, or for an ``...Arn`` attribute a well-formed ARN
   ``arn:aws:<service>:<region>:<account>:<type>/unmodeled-<LogicalId>`` (templates split
   ARNs, and IAM checks the ARNs in policies); it skips validating such outputs' attributes.

7. ``Fn::GetStackOutput`` (``fix_intrinsics`` too). The CDK writes cross-stack references as
   this intrinsic (``"@aws-cdk/core:defaultCrossStackReferences": "weak"`` in cdk.json):
   ``{"StackName", "OutputName", "Region"}``, the value of another stack's output. moto
   does not know it and leaves the object in place, which IAM then rejects inside a policy
   ("MalformedPolicyDocument: Syntax errors in policy"). The fix resolves it like
   CloudFormation: the named output of the named stack of the same account (a missing
   stack or output fails the deploy, as it would on AWS).

``PATCHED_MOTO`` pins the version these were written against: on another moto the launcher
refuses to start, so each fix is looked at again (and dropped once moto fixes its bug).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import botocore.session
import moto
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError as CloudFormationValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, cloudformation_backends
from moto.kms.models import Key
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeSagemakerNotebookInstance
from moto.server import main
from moto.utilities.utils import get_partition

PATCHED_MOTO = "5.2.5"


def fix_kms_key_from_cloudformation() -> None:
    original = Key.create_from_cloudformation_json.__func__  # the classmethod's function

    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw
    ) -> Key:
        properties = dict(cloudformation_json.get("Properties", {}))
        if properties.get("Tags"):
            properties["Tags"] = [
                {"TagKey": t["Key"], "TagValue": t.get("Value", "")} if "Key" in t else t
                for t in properties["Tags"]
            ]
        if isinstance(properties.get("KeyPolicy"), dict):
            properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
        cloudformation_json = {**cloudformation_json, "Properties": properties}
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kw)

    Key.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def notebook_instance_types() -> frozenset[str]:
    """The instance types CreateNotebookInstance accepts, from botocore's API model."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateNotebookInstance").input_shape.members["InstanceType"]
    return frozenset(shape.enum)


def fix_notebook_instance_types() -> None:
    allowed = notebook_instance_types()

    def validate_instance_type(self: Any, instance_type: str) -> None:
        if instance_type not in allowed:
            raise ValidationError(
                message=f"Value '{instance_type}' at 'instanceType' failed to satisfy "
                f"constraint: Member must satisfy enum value set: {sorted(allowed)}"
            )

    FakeSagemakerNotebookInstance.validate_instance_type = validate_instance_type


def fix_change_set_outputs() -> None:
    original = ChangeSet.apply

    def apply(self: Any) -> None:
        original(self)
        stack = self.stack
        stack.template = self.template
        stack.template_dict = self.template_dict
        stack.description = self.template_dict.get("Description")
        stack.output_map = stack._create_output_map()

    ChangeSet.apply = apply


def fix_update_previous_parameters() -> None:
    original = CloudFormationBackend._resolve_update_parameters

    def _resolve_update_parameters(
        self: Any, instance: Any, incoming_params: list[dict[str, Any]]
    ) -> dict[str, str]:
        passed = instance.parameters
        if isinstance(passed, dict):  # a stack (a stack set keeps its parameters otherwise)
            incoming_params = [
                p
                for p in incoming_params
                if not (p.get("UsePreviousValue") and p["ParameterKey"] not in passed)
            ]
        return original(self, instance, incoming_params)

    CloudFormationBackend._resolve_update_parameters = _resolve_update_parameters


def fix_resources_without_update() -> None:
    original = parsing.parse_and_update_resource

    def parse_and_update_resource(
        logical_id: str, resource_json: Any, resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        updated = original(logical_id, resource_json, resources_map, account_id, region_name)
        if updated is None:  # no update handler (or a type moto does not model at all)
            return resources_map._parsed_resources.get(logical_id)
        return updated

    parsing.parse_and_update_resource = parse_and_update_resource


def _unmodeled_get_att(value: Any, template_resources: dict) -> tuple[str, str, str] | None:
    """(logical id, attribute, type) of ``{"Fn::GetAtt": ...}`` of an unmodeled resource."""
    if not (isinstance(value, dict) and list(value) == ["Fn::GetAtt"]):
        return None
    target = value["Fn::GetAtt"]
    logical, attribute = target.split(".", 1) if isinstance(target, str) else target
    if not (isinstance(logical, str) and isinstance(attribute, str)):
        return None
    resource = template_resources.get(logical)
    if resource is None or parsing.resource_class_from_type(resource.get("Type")) is not None:
        return None  # undefined (moto's error is right) or modeled (moto resolves it)
    return logical, attribute, resource["Type"]


def _placeholder(logical: str, attribute: str, resource_type: str, resources_map: Any) -> str:
    if attribute.endswith("Arn"):
        _, service, type_name = resource_type.lower().split("::")
        region, account = resources_map._region_name, resources_map._account_id
        partition = get_partition(region)
        return f"arn:{partition}:{service}:{region}:{account}:{type_name}/unmodeled-{logical}"
    return f"unmodeled-{logical}-{attribute}"


def _get_stack_output(argument: dict, resources_map: Any) -> str:
    region = argument.get("Region") or resources_map._region_name
    backend = cloudformation_backends[resources_map._account_id][region]
    stack = backend.get_stack(argument["StackName"])  # ValidationError if there is none
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.outputs or []}
    if argument["OutputName"] not in outputs:
        raise CloudFormationValidationError(
            message=f"Stack {argument['StackName']} has no output {argument['OutputName']}"
        )
    return outputs[argument["OutputName"]]


def fix_intrinsics() -> None:
    """Fixes 6 and 7: both are intrinsics that moto's ``clean_json`` resolves."""
    original_clean_json = parsing.clean_json
    original_validate_outputs = parsing.ResourceMap.validate_outputs

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        template_resources = getattr(resources_map, "_resource_json_map", None)
        if template_resources is not None:  # a stack's resource map (not a plain dict)
            if isinstance(resource_json, dict) and list(resource_json) == ["Fn::GetStackOutput"]:
                argument = original_clean_json(resource_json["Fn::GetStackOutput"], resources_map)
                return _get_stack_output(argument, resources_map)
            unmodeled = _unmodeled_get_att(resource_json, template_resources)
            if unmodeled is not None:
                return _placeholder(*unmodeled, resources_map)
        return original_clean_json(resource_json, resources_map)

    def validate_outputs(self: Any) -> None:
        outputs = self._template.get("Outputs") or {}
        resources = self._template.get("Resources") or {}
        self._template["Outputs"] = {
            key: output
            for key, output in outputs.items()
            if not (isinstance(output, dict) and _unmodeled_get_att(output.get("Value"), resources))
        }
        try:
            original_validate_outputs(self)
        finally:
            self._template["Outputs"] = outputs

    parsing.clean_json = clean_json
    parsing.ResourceMap.validate_outputs = validate_outputs


def apply_fixes() -> None:
    if moto.__version__ != PATCHED_MOTO:
        sys.exit(
            f"moto {moto.__version__} found; tests/deploy/moto_launcher.py fixes bugs of moto "
            f"{PATCHED_MOTO}: check whether they are still there and update the launcher"
        )
    fix_kms_key_from_cloudformation()
    fix_notebook_instance_types()
    fix_change_set_outputs()
    fix_update_previous_parameters()
    fix_resources_without_update()
    fix_intrinsics()


if __name__ == "__main__":
    apply_fixes()
    main(sys.argv[1:])
