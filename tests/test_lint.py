"""Lint (SPEC 1.6): every rule fires where it should, with the exact code, token span and hint,
and stays quiet where it should; none fires on the documentation's examples or on the
real-world expressions that are correct; fleet-aware lint reads dictionaries, so it is fast."""
import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import placement
from placement import Fleet
from placement.cli import main
from placement.explain import suggest
from placement.fleet.columns import DictionaryColumn
from tests.property.strategies import expressions, fleets

HERE = Path(__file__).parent


def instance(k, attributes, ec2=None, connected=True):
    return {"containerInstanceArn": f"ci-{k}", "ec2InstanceId": ec2 or f"i-{k:017x}", "status": "ACTIVE",
            "agentConnected": connected, "runningTasksCount": k % 3,
            "attributes": [{"name": n} if v is None else {"name": n, "value": v} for n, v in attributes.items()]}


# Six instances: every value below is on some, none on all; stack and the capability are missing on some.
FLEET_JSON = {"containerInstances": [
    instance(1, {"ecs.instance-type": "t3.large", "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64",
                 "ecs.availability-zone": "us-east-1a", "stack": "prod", "ecs.capability.task-eni": None,
                 "gpu": "true"}),
    instance(2, {"ecs.instance-type": "t3.micro", "ecs.os-type": "linux", "ecs.cpu-architecture": "arm64",
                 "ecs.availability-zone": "us-east-1b", "stack": "dev", "ecs.capability.task-eni": None}),
    instance(3, {"ecs.instance-type": "c5.xlarge", "ecs.os-type": "windows", "ecs.cpu-architecture": "x86_64",
                 "ecs.availability-zone": "us-east-1a", "stack": "prod", "os-family": "LINUX"}),
    instance(4, {"ecs.instance-type": "m5.large", "ecs.os-type": "linux", "ecs.cpu-architecture": "arm64",
                 "ecs.availability-zone": "us-east-1b", "gpu": "false"}),
    instance(5, {"ecs.instance-type": "t3.large", "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64",
                 "ecs.availability-zone": "us-east-1c", "stack": "dev"}, ec2="i-0abc1234def567890"),
    instance(6, {"ecs.instance-type": "g4dn.xlarge", "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64",
                 "ecs.availability-zone": "us-east-1c", "stack": "staging"}, connected=False),
]}
TASKS_JSON = {"tasks": [
    {"taskArn": f"t-{k}", "group": group, "containerInstanceArn": f"ci-{row}", "desiredStatus": "RUNNING"}
    for k, (group, row) in enumerate([("service:web", 1), ("service:web", 2), ("database", 3), ("service:api", 1)])]}


@pytest.fixture(scope="module")
def fleet():
    return Fleet.from_ecs(FLEET_JSON, tasks=TASKS_JSON)


@pytest.fixture(scope="module")
def no_tasks():
    return Fleet.from_ecs(FLEET_JSON)


@pytest.fixture(scope="module")
def demo200():
    return placement.demo(200)


def found(text, fleet=None):
    """(code, the text of its span, hint) of every finding, in order."""
    return [(w.code, text[w.span.start:w.span.end], w.hint) for w in placement.compile(text).warnings(fleet)]


def codes(text, fleet=None):
    return [w.code for w in placement.compile(text).warnings(fleet)]


# -- glob-pattern (text) ------------------------------------------------------------------------

@pytest.mark.parametrize("text, token, hint", [
    ("attribute:ecs.instance-type =~ g4*", "g4*", "attribute:ecs.instance-type =~ g4.*"),
    ("attribute:ecs.availability-zone =~ us-east-1*", "us-east-1*", "attribute:ecs.availability-zone =~ us-east-1.*"),
    ("attribute:ecs.instance-type matches 'g4dn*'", "'g4dn*'", "attribute:ecs.instance-type matches 'g4dn.*'"),
    ("attribute:name !~ web-*-prod", "web-*-prod", "attribute:name !~ web-.*-prod"),
    ("task:group =~ service:web*", "service:web*", "task:group =~ service:web.*"),
])
def test_glob_like_patterns(text, token, hint):
    assert found(text) == [("glob-pattern", token, hint)]
    message = placement.compile(text).warnings()[0].message
    assert "regular expression" in message and "glob" in message


@pytest.mark.parametrize("text", [
    "attribute:ecs.instance-type =~ g4.*", "attribute:ecs.instance-type =~ '(g4dn|p3)\\..*'",
    "attribute:x =~ '\\d*'", "attribute:x =~ '[a-z]*'", "attribute:x =~ '[*a]'", "attribute:x =~ '(ab)*'",
    "attribute:x =~ 'a\\*'", "attribute:x =~ green", "attribute:x == g4*",
])
def test_no_glob_finding_on_real_regexes(text):
    assert codes(text) == []


# -- typographic (text) -------------------------------------------------------------------------

@pytest.mark.parametrize("text, token, hint", [
    ("attribute:ecs.instance-type == \u2018t3.large\u2019", "\u2018t3.large\u2019",
     "attribute:ecs.instance-type == 't3.large'"),
    ("attribute:ecs.availability-zone == us\u2013east\u20131a", "us\u2013east\u20131a",
     "attribute:ecs.availability-zone == us-east-1a"),
    ("attribute:stack in [prod, \u201cdev\u201d]", "\u201cdev\u201d", 'attribute:stack in [prod, "dev"]'),
    ("attribute:zone == 'us\u2014east'", "'us\u2014east'", "attribute:zone == 'us-east'"),
    ("attribute:ecs.instance-type =~ t3\u2010.*", "t3\u2010.*", "attribute:ecs.instance-type =~ t3-.*"),
    ("attribute:name == O\u2019Brien", "O\u2019Brien", "attribute:name == 'O\\'Brien'"),
])
def test_typographic_quotes_and_dashes(text, token, hint):
    assert found(text) == [("typographic", token, hint)]


def test_no_typographic_finding_on_ascii_or_on_a_value_the_fleet_has():
    assert codes("attribute:ecs.instance-type == 't3.large' and attribute:zone == us-east-1a") == []
    odd = Fleet.from_ecs([instance(1, {"team": "r\u2013d"}), instance(2, {"team": "ops"})])
    assert codes("attribute:team == r\u2013d", odd) == []
    assert codes("attribute:team == r\u2013d") == ["typographic"]
    assert codes("attribute:note == caf\u00e9") == []            # accented letters are not typographic


# -- capability-equals-true (text, and the fleet where it has the attribute) ---------------------

@pytest.mark.parametrize("text, token, hint", [
    ("attribute:ecs.capability.gpu == true", "true", "attribute:ecs.capability.gpu exists"),
    ("attribute:com.amazonaws.ecs.capability.ecr-auth equals true", "true",
     "attribute:com.amazonaws.ecs.capability.ecr-auth exists"),
    ("attribute:ecs.capability.efs in [true]", "true", "attribute:ecs.capability.efs exists"),
])
def test_equals_true_on_a_capability(text, token, hint):
    assert found(text) == [("capability-equals-true", token, hint)]


def test_equals_true_is_judged_by_the_fleet_where_it_has_the_attribute(fleet):
    text = "attribute:ecs.capability.task-eni == true"
    assert found(text, fleet) == [("capability-equals-true", "true", "attribute:ecs.capability.task-eni exists")]
    assert "no value on the 2 instances" in placement.compile(text).warnings(fleet)[0].message
    # a custom attribute with a real value 'true' is fine, with or without a fleet
    assert codes("attribute:gpu == true", fleet) == [] and codes("attribute:gpu == true") == []
    valueless = Fleet.from_ecs([instance(1, {"gpu": None}), instance(2, {"stack": "x"})])
    assert found("attribute:gpu == true", valueless) == [("capability-equals-true", "true", "attribute:gpu exists")]
    valued = Fleet.from_ecs([instance(1, {"ecs.capability.x": "true"}), instance(2, {"stack": "x"})])
    assert codes("attribute:ecs.capability.x == true", valued) == []


@pytest.mark.parametrize("text", [
    "attribute:ecs.capability.gpu exists", "attribute:ecs.capability.gpu != true",
    "attribute:ecs.capability.gpu-driver-version =~ 595.*", "attribute:capable == true",
    "agentConnected == true", "attribute:ecs.capability.x == yes",
])
def test_no_capability_finding(text):
    assert codes(text) == []


# -- contradiction / tautology (text: the optimiser) ----------------------------------------------

@pytest.mark.parametrize("text, code, token, hint", [
    ("attribute:a == x and attribute:a == y", "contradiction", "attribute:a == x and attribute:a == y",
     "attribute:a in [x, y]"),
    ("attribute:a exists and attribute:a !exists", "contradiction", "attribute:a exists and attribute:a !exists",
     "no instance can satisfy it: check the values, or join the clauses with or"),
    ("attribute:b == x and (runningTasksCount >= 0 or agentVersion > 1)", "tautology", "runningTasksCount >= 0",
     "attribute:b == x"),
    ("attribute:a == x or not(attribute:a == x)", "tautology", "attribute:a == x or not(attribute:a == x)",
     "leave it out: every instance satisfies it"),
    ("attribute:b == z or (attribute:a == x and attribute:a == y)", "contradiction",
     "attribute:a == x and attribute:a == y", "attribute:a in [x, y]"),
    ("runningTasksCount < 0", "contradiction", "runningTasksCount < 0",
     "no instance can satisfy it: check the values, or join the clauses with or"),
    ("attribute:a == x and attribute:b == y and attribute:a == z", "contradiction",
     "attribute:a == x and attribute:b == y and attribute:a == z", "attribute:a in [x, z] and attribute:b == y"),
])
def test_contradictions_and_tautologies(text, code, token, hint):
    assert found(text) == [(code, token, hint)]
    word = "contradiction" if code == "contradiction" else "tautology"
    assert word in placement.compile(text).warnings()[0].message


@pytest.mark.parametrize("text", [
    "attribute:a == x or attribute:a != x",                # the absent rule: not a tautology
    "not(attribute:a == x) and attribute:a != y",
    "runningTasksCount > 0", "attribute:a == x and attribute:b == x",
])
def test_no_constant_finding(text):
    assert codes(text) == []


# -- case-mismatch (fleet) --------------------------------------------------------------------------

@pytest.mark.parametrize("text, token, hint", [
    ("attribute:ecs.cpu-architecture == ARM64", "ARM64", "attribute:ecs.cpu-architecture == arm64"),
    ("attribute:ecs.os-type == LINUX", "LINUX", "attribute:ecs.os-type == linux"),
    ("attribute:os-family == linux", "linux", "attribute:os-family == LINUX"),
    ("attribute:stack in [Prod, dev]", "Prod", "attribute:stack in [prod, dev]"),
    ("attribute:stack != 'PROD'", "'PROD'", "attribute:stack != 'prod'"),
    ("task:group == Database", "Database", "task:group == database"),
    ("ec2InstanceId == I-0ABC1234DEF567890", "I-0ABC1234DEF567890", "ec2InstanceId == i-0abc1234def567890"),
    ("attribute:ecs.instance-type =~ T3.*", "T3.*", "attribute:ecs.instance-type =~ t3.*"),
])
def test_case_mismatches(fleet, text, token, hint):
    got = [f for f in found(text, fleet) if f[0] != "negation-skips-absent"]
    assert got == [("case-mismatch", token, hint)]
    assert codes(text) == []                                    # needs a fleet


@pytest.mark.parametrize("text", [
    "attribute:ecs.cpu-architecture == arm64", "attribute:ecs.os-type == linux",
    "attribute:ecs.instance-type =~ t3.*", "attribute:stack == qa", "attribute:ecs.instance-type =~ T4.*",
])
def test_no_case_finding(fleet, text):
    assert "case-mismatch" not in codes(text, fleet)


# -- near-miss (fleet) ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, token, hint", [
    ("attribute:ecs.instance-type == t3.larg", "t3.larg", "attribute:ecs.instance-type == t3.large"),
    ("attribute:ecs.instance-type == t3.lrage", "t3.lrage", "attribute:ecs.instance-type == t3.large"),
    ("attribute:ecs.cpu-architecture == x86-64", "x86-64", "attribute:ecs.cpu-architecture == x86_64"),
    ("attribute:stack in [prd, dev]", "prd", "attribute:stack in [prod, dev]"),
    ("attribute:stack == stagin", "stagin", "attribute:stack == staging"),
    ("attribute:stack == pord", "pord", "attribute:stack == prod"),               # a swap is one edit
    ("attribute:ecs.os-type!=linxu", "linxu", "attribute:ecs.os-type!=linux"),
    ("task:group == service:webb", "service:webb", "task:group == service:web"),
    ("ec2InstanceId == i-0abc1234def56789", "i-0abc1234def56789", "ec2InstanceId == i-0abc1234def567890"),
    ("attribute:ecs.instance-type == 'g4dn.xlarg'", "'g4dn.xlarg'", "attribute:ecs.instance-type == 'g4dn.xlarge'"),
])
def test_near_misses(fleet, text, token, hint):
    assert found(text, fleet) == [("near-miss", token, hint)]
    assert codes(text) == []


@pytest.mark.parametrize("text", [
    "attribute:ecs.instance-type == t2.large",       # digits differ: another instance type
    "attribute:ecs.instance-type == c5.large",       # made of the column's own words: a type this fleet lacks
    "attribute:ecs.availability-zone == us-east-1d",  # a zone letter, not a typo
    "attribute:ecs.availability-zone == us-west-1a",  # west / east: a whole word, not a slip
    "attribute:stack == qa",                          # too short to be anyone's typo
    "attribute:stack == production",                  # far from every value
    "attribute:ecs.instance-type == t3.large",        # there
    "attribute:ecs.instance-type > 3",                # ordering: numbers, not values
])
def test_no_near_miss(fleet, text):
    assert "near-miss" not in codes(text, fleet) and "case-mismatch" not in codes(text, fleet)


# -- unknown-attribute (fleet) ----------------------------------------------------------------------

@pytest.mark.parametrize("text, token, hint", [
    ("attribute:ecs.os-tpye == linux", "ecs.os-tpye", "attribute:ecs.os-type == linux"),
    ("attribute:ec2.instance-type==t3.large", "ec2.instance-type", "attribute:ecs.instance-type==t3.large"),
    ("attribute:instance-type =~ c5.*", "instance-type", "attribute:ecs.instance-type =~ c5.*"),
    ("attribute:Stack exists", "Stack", "attribute:stack exists"),
    ("attribute:ecs.availability_zone in [us-east-1a]", "ecs.availability_zone",
     "attribute:ecs.availability-zone in [us-east-1a]"),
])
def test_unknown_attributes_with_the_nearest_names(fleet, text, token, hint):
    assert found(text, fleet) == [("unknown-attribute", token, hint)]
    assert codes(text) == []


def test_the_unknown_attribute_message_lists_the_nearest_names(demo200):
    (warning,) = placement.compile("attribute:ecs.os-tpye == linux").warnings(demo200)
    assert "'ecs.os-tpye'" in warning.message and "ecs.os-type" in warning.message


@pytest.mark.parametrize("text", [
    "attribute:color =~ green",            # nothing close: a custom attribute this fleet lacks
    "attribute:ecs.os-type == linux", "attribute:stack exists", "attribute:gpu == true",
])
def test_no_unknown_attribute_finding(fleet, text):
    assert "unknown-attribute" not in codes(text, fleet)


# -- negation-skips-absent (fleet) ------------------------------------------------------------------

@pytest.mark.parametrize("text, token, hint", [
    ("attribute:stack != prod", "!=", "not(attribute:stack == prod)"),
    ("attribute:stack not_in [prod, dev]", "not_in", "not(attribute:stack in [prod, dev])"),
    ("attribute:stack !~ 'p.*'", "!~", "not(attribute:stack =~ 'p.*')"),
    ("attribute:ecs.capability.task-eni != x", "!=", "not(attribute:ecs.capability.task-eni == x)"),
    ("task:group != service:web", "!=", "not(task:group == service:web)"),
])
def test_negation_on_an_attribute_some_instances_lack(fleet, text, token, hint):
    assert found(text, fleet) == [("negation-skips-absent", token, hint)]
    assert codes(text) == []


def test_the_negation_message_counts_the_instances(fleet):
    (warning,) = placement.compile("attribute:stack != prod").warnings(fleet)
    assert warning.message.startswith("1 of 6 instances have no value for attribute:stack")


@pytest.mark.parametrize("text", [
    "attribute:ecs.instance-type != t3.large", "attribute:ecs.os-type !in [windows]",
    "not(attribute:stack == prod)", "attribute:ecs.availability-zone !~ 'us-east-1[ab]'",
    "ec2InstanceId != i-0abc1234def567890",
])
def test_no_negation_finding_where_every_instance_has_the_value(fleet, text):
    assert codes(text, fleet) == []


# -- task-group-without-tasks (fleet) ---------------------------------------------------------------

@pytest.mark.parametrize("text, token", [
    ("task:group == service:web", "task:group"),
    ("not(task:group == database)", "task:group"),
    ("task:group exists", "task:group"),
])
def test_task_group_on_a_fleet_without_its_tasks(no_tasks, text, token):
    (got,) = found(text, no_tasks)
    assert got[:2] == ("task-group-without-tasks", token) and "--tasks" in got[2]


def test_no_task_group_finding_with_tasks_or_without_task_group(fleet, no_tasks):
    assert codes("task:group == service:web", fleet) == []
    assert codes("task:group exists", fleet) == []
    assert codes("attribute:stack == prod", no_tasks) == []
    assert codes("task:group == service:web") == []


# -- clause-selects-nothing / everything (fleet) ----------------------------------------------------

@pytest.mark.parametrize("text, code, token, hint", [
    ("attribute:stack == prod and attribute:zone == x", "clause-selects-nothing", "attribute:zone == x",
     "see what it selects with 'placement eval': no instance satisfies it"),
    ("attribute:stack == prod or attribute:ecs.instance-type == p3.2xlarge", "clause-selects-nothing",
     "attribute:ecs.instance-type == p3.2xlarge", "attribute:stack == prod"),
    ("attribute:stack == prod and attribute:ecs.os-type exists", "clause-selects-everything",
     "attribute:ecs.os-type exists", "attribute:stack == prod"),
    ("attribute:stack == prod or runningTasksCount < 5", "clause-selects-everything", "runningTasksCount < 5",
     "see what it selects with 'placement eval': the or filters nothing out"),
    ("attribute:stack == prod and not(attribute:ecs.os-type exists)", "clause-selects-nothing",
     "not(attribute:ecs.os-type exists)", "see what it selects with 'placement eval': no instance satisfies it"),
])
def test_clauses_decided_by_the_fleet(fleet, text, code, token, hint):
    assert found(text, fleet) == [(code, token, hint)]
    assert codes(text) == []


def test_the_innermost_decided_clause_is_reported(fleet):
    text = "attribute:stack == prod or (attribute:ecs.os-type == linux and attribute:zz == q)"
    assert found(text, fleet) == [("clause-selects-nothing", "attribute:zz == q",
                                   "see what it selects with 'placement eval': no instance satisfies it")]


@pytest.mark.parametrize("text", [
    "attribute:stack == prod and attribute:ecs.os-type == linux",
    "attribute:stack == prod",                                     # the whole expression: eval's answer
    "attribute:ecs.os-type exists",
    "attribute:a == x and attribute:a == y",                       # the optimiser's already
])
def test_no_clause_finding(fleet, text):
    assert not {"clause-selects-nothing", "clause-selects-everything"} & set(codes(text, fleet))


def test_no_clause_finding_on_an_empty_fleet_or_for_task_group_without_tasks(no_tasks):
    empty = Fleet.from_ecs([])
    assert codes("attribute:stack == prod and attribute:zz == q", empty) == []
    assert codes("attribute:stack == prod and task:group == service:web", no_tasks) == ["task-group-without-tasks"]


# -- order --------------------------------------------------------------------------------------

def test_token_findings_come_before_their_clause_and_the_expression(fleet):
    text = "attribute:ecs.instance-type =~ g4* and attribute:stack != prod and attribute:stack == Dev"
    got = [(code, token) for code, token, _ in found(text, fleet)]
    assert got == [("glob-pattern", "g4*"), ("clause-selects-nothing", "attribute:ecs.instance-type =~ g4*"),
                   ("negation-skips-absent", "!="), ("case-mismatch", "Dev"),
                   ("clause-selects-nothing", "attribute:stack == Dev")]
    text = "attribute:a == X and attribute:a == y"
    assert codes(text) == ["contradiction"]


def test_every_span_is_a_token_inside_the_text(fleet, demo200):
    for text in ["attribute:ecs.os-tpye == linux", "attribute:stack != prod", "attribute:ecs.instance-type =~ g4*"]:
        for warning in placement.compile(text).warnings(fleet):
            assert 0 <= warning.span.start < warning.span.end <= len(text)
            assert warning.span.end - warning.span.start < len(text)


# -- no finding on the documentation's examples or on correct real-world expressions ---------------

DOC_EXAMPLES = [e["expression"] for e in json.loads((HERE / "realworld" / "ecs_doc_examples.json").read_text())["examples"]
                if e["valid"]]
#: What demo(200) rightly says about three of them: the absent rule the SPEC cites (the demo fleet
#: leaves `stack` off some instances to show it), a capital letter in a value ECS writes in lower
#: case, and a group the demo fleet spells 'database'.
DOC_FINDINGS_ON_DEMO = {
    "attribute:stack != prod": [("negation-skips-absent", "!=", "not(attribute:stack == prod)")],
    "attribute:ecs.instance-type == Inf1.xlarge": [("case-mismatch", "Inf1.xlarge",
                                                    "attribute:ecs.instance-type == inf1.xlarge")],
    "task:group == databases": [("near-miss", "databases", "task:group == database")],
}


@pytest.mark.parametrize("text", DOC_EXAMPLES)
def test_documentation_examples_lint_clean(text, demo200):
    assert found(text) == []
    assert found(text, demo200) == DOC_FINDINGS_ON_DEMO.get(text, [])


def test_the_package_examples_lint_clean_but_for_the_absent_rule(demo200):
    from placement.examples import ECS_DOC_EXAMPLES, FLEET_EXAMPLES
    for text in ECS_DOC_EXAMPLES + FLEET_EXAMPLES:
        assert codes(text) == [], text
        expected = ["negation-skips-absent"] if text == "attribute:stack != prod" else []
        assert codes(text, demo200) == expected, text


REAL_WORLD = [e for e in json.loads((HERE / "realworld" / "expressions.json").read_text())["expressions"]
              if e["valid"]]
#: Valid but not correct (their notes say why): expected text-only findings. Every other valid
#: real-world expression is correct and must draw none, with or without a fleet.
SUSPICIOUS = {
    "attribute:retiring != true": [],                          # the absent rule: needs a fleet
    "attribute:ecs.os-type == invalidOS": [],
    "attribute:ecs.ami-id == i-xxxxxxx": [],
    "task:group == service:discovery": [],                     # affinity where anti-affinity was meant
    "attribute:ecs.capability.gpu == true": ["capability-equals-true"],
    "ec2InstanceId == '{self.container_instance.instance_id}'": [],
    "attribute:Service == {name}": [],
    "attribute:ec2.instance-type==g4dn.xlarge": [],
    "attribute:ecs.cpu-architecture == ARM64": [],
    "attribute:ecs.az =~ us-east-1*": ["glob-pattern"],
    "ec2InstanceId in [%s]": [],
    "ec2InstanceId in ['{}']": [],
    "ec2InstanceId in ['{instance_id}'] and agentConnected==true": [],
    "ec2InstanceId == {} and agentConnected == true": [],
    "attribute:ecs.availability-zone =~ eu-west-1%s": [],
    "attribute:ecs.availability-zone =~ us-east-1*": ["glob-pattern"],
    "attribute:instance-type =~ c5.*": [],
    "not(task:group == task:consulServer)": [],
    "task:group != service:my-service": [],
    "attribute:ecs.capability.gpu-driver-version =~ 595\\\\..*": [],
}
CORRECT = [e["expression"] for e in REAL_WORLD if e["expression"] not in SUSPICIOUS]
#: On the fleet the correct ones were written for, what the suspicious ones draw.
SUSPICIOUS_ON_ITS_FLEET = {
    "attribute:retiring != true": ["negation-skips-absent"],
    "attribute:ecs.capability.gpu == true": ["capability-equals-true"],
    "attribute:ec2.instance-type==g4dn.xlarge": ["unknown-attribute"],
    "attribute:ecs.cpu-architecture == ARM64": ["case-mismatch"],
    "attribute:ecs.az =~ us-east-1*": ["glob-pattern"],
    "attribute:ecs.availability-zone =~ us-east-1*": ["glob-pattern"],
    "attribute:instance-type =~ c5.*": ["unknown-attribute"],
    "task:group != service:my-service": ["negation-skips-absent"],
    # placeholders left in: the ids they stand for are not in any fleet
    "ec2InstanceId in ['{instance_id}'] and agentConnected==true": ["clause-selects-nothing"],
    "ec2InstanceId == {} and agentConnected == true": ["clause-selects-nothing"],
}


def test_the_suspicious_list_names_real_entries():
    texts = {e["expression"] for e in REAL_WORLD}
    assert set(SUSPICIOUS) <= texts and len(CORRECT) > 100


def _witness(pattern: str) -> str:
    """A value the pattern matches (the real-world patterns are prefixes and alternations)."""
    from placement.lang.patterns import full_match
    for guess in (pattern.replace("\\.", ".").replace(".*", ".large"), pattern.replace(".*", "x"), pattern):
        if full_match(pattern, guess):
            return guess
    raise AssertionError(f"no witness for {pattern!r}")


def fleet_for(texts) -> Fleet:
    """A fleet the expressions were written for: every attribute, value, group and id they
    name is on some instances, and beside each a value none of them names, so that no clause
    selects all or nothing of it."""
    from placement.lang.ir import Kind, Match, OneOf, Order, leaves
    values: dict[str, list[str]] = {}
    groups, ids = [], []
    for text in texts:
        for leaf in leaves(placement.compile(text).ir):
            name = leaf.field.name if leaf.field.kind is Kind.ATTRIBUTE else leaf.field.kind.value
            bucket = groups if leaf.field.kind is Kind.TASK_GROUP else ids if leaf.field.kind is Kind.INSTANCE_ID \
                else values.setdefault(name, [])
            if isinstance(leaf, OneOf):
                new = sorted(str(v) for v in leaf.values)
            elif isinstance(leaf, Match):
                new = [_witness(leaf.pattern)]
            elif isinstance(leaf, Order) and leaf.field.kind is Kind.ATTRIBUTE:
                new = [str(int(leaf.value) + d) for d in (-1, 0, 1)]
            else:
                new = []
            bucket.extend(v for v in new if v not in bucket)
    for name in ("agentConnected", "runningTasksCount", "agentVersion", "registeredAt"):
        values.pop(name, None)
    n = 2 * max(len(groups), len(ids), *(len(v) for v in values.values())) + 4
    instances = []
    for k in range(n):
        attributes = {name: (vs + [f"other-{name}"])[k % (len(vs) + 1)] for name, vs in values.items()}
        for name, named in values.items():
            if not named:                        # named only with exists / !exists
                attributes[name] = None if k % 2 else attributes.pop(name)
        instances.append({**instance(k, {a: v for a, v in attributes.items() if a in attributes},
                                     ec2=ids[k] if k < len(ids) else None, connected=bool(k % 2)),
                          "runningTasksCount": k % 6, "versionInfo": {"agentVersion": f"1.{k % 90}.0"},
                          "registeredAt": f"20{15 + k % 10}-0{1 + k % 9}-01T00:00:00Z"})
    tasks = [{"taskArn": f"t-{k}", "group": group, "containerInstanceArn": f"ci-{k * 3 % n}",
              "desiredStatus": "RUNNING"} for k, group in enumerate(groups * 2)]
    return Fleet.from_ecs(instances, tasks=tasks)


@pytest.fixture(scope="module")
def real_world_fleet():
    return fleet_for(CORRECT)


@pytest.mark.parametrize("text", CORRECT)
def test_correct_real_world_expressions_lint_clean(text, real_world_fleet):
    assert found(text) == []
    assert found(text, real_world_fleet) == []


@pytest.mark.parametrize("text", list(SUSPICIOUS))
def test_suspicious_real_world_expressions_draw_what_they_should(text, real_world_fleet):
    assert codes(text) == SUSPICIOUS[text]
    assert codes(text, real_world_fleet) == SUSPICIOUS_ON_ITS_FLEET.get(text, [])


# -- the nearest-value search -----------------------------------------------------------------------

def test_edit_distance():
    assert suggest.edit_distance("t3.larg", "t3.large", 2) == 1
    assert suggest.edit_distance("tpye", "type", 2) == 2
    assert suggest.edit_distance("abc", "xyz", 2) == 3
    assert suggest.edit_distance("", "ab", 2) == 2
    assert suggest.edit_distance("kitten", "sitting", 3) == 3


def test_the_numpy_search_finds_what_the_plain_loop_finds(monkeypatch):
    rng = random.Random(7)
    alphabet = "ab-.1Z\u00e9\u01a9"
    values = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))) for _ in range(2000)})
    column = DictionaryColumn.from_values(values + values[:40] + [None] * 5)
    for _ in range(150):
        literal = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10)))
        for limit in (0, 1, 2):
            monkeypatch.setattr(suggest, "VECTOR_THRESHOLD", 10 ** 9)
            plain = suggest.near_values(column, literal, limit)
            monkeypatch.setattr(suggest, "VECTOR_THRESHOLD", 0)
            assert suggest.near_values(column, literal, limit) == plain, (literal, limit)


def test_values_no_instance_has_are_never_suggested():
    column = DictionaryColumn.from_values(["prod", "dev"]).take(__import__("numpy").array([1, 1]))
    assert [v for _, _, v in suggest.near_values(column, "prodd", 2)] == []


# -- the check command ------------------------------------------------------------------------------

def run_check(capsys, *argv):
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_json_has_the_four_keys(capsys):
    code, out, _ = run_check(capsys, "attribute:ecs.instance-type =~ g4*", "--json")
    document = json.loads(out)
    assert code == 0 and document["valid"] is True and document["canonical"] == "attribute:ecs.instance-type =~ g4*"
    (warning,) = document["warnings"]
    assert set(warning) == {"code", "message", "span", "hint"}
    assert (warning["code"], warning["span"], warning["hint"]) == (
        "glob-pattern", [31, 34], "attribute:ecs.instance-type =~ g4.*")
    _, out, _ = run_check(capsys, "attribute:a == x or attribute:a != x", "--json")
    assert json.loads(out)["warnings"] == []


def test_check_takes_a_fleet_with_or_without_tasks(capsys, tmp_path):
    fleet_file, tasks_file = tmp_path / "fleet.json", tmp_path / "tasks.json"
    fleet_file.write_text(json.dumps(FLEET_JSON))
    tasks_file.write_text(json.dumps(TASKS_JSON))
    text = "task:group == service:webb"
    _, out, _ = run_check(capsys, text, "--fleet", str(fleet_file), "--json")
    assert [w["code"] for w in json.loads(out)["warnings"]] == ["task-group-without-tasks"]
    _, out, _ = run_check(capsys, text, "--fleet", str(fleet_file), "--tasks", str(tasks_file), "--json")
    assert [(w["code"], w["hint"]) for w in json.loads(out)["warnings"]] == [("near-miss", "task:group == service:web")]
    _, out, _ = run_check(capsys, "attribute:ecs.os-tpye == linux", "--demo", "30", "--json")
    assert [w["code"] for w in json.loads(out)["warnings"]] == ["unknown-attribute"]


def test_check_for_people_puts_a_caret_under_the_token(capsys):
    code, out, err = run_check(capsys, "attribute:ecs.os-type == LINUX", "--demo", "20")
    assert code == 0 and out == "attribute:ecs.os-type == LINUX\n"
    assert err.splitlines() == [
        ("warning[case-mismatch]: 'LINUX' matches no attribute:ecs.os-type value in the fleet, but 'linux' does "
         "(values are compared case-sensitively)"),
        "  at line 1, column 26",
        "    attribute:ecs.os-type == LINUX",
        "                             ^^^^^",
        "  hint: attribute:ecs.os-type == linux",
    ]


# -- golden: rendered lint output ---------------------------------------------------------------------

GOLDEN = HERE / "golden" / "lint.txt"


def golden_cases():
    """``$ check EXPR`` or ``$ check EXPR --demo 200``, then the rendered warnings, then a blank line."""
    cases, current = [], None
    for line in GOLDEN.read_text().splitlines():
        if line.startswith("#") and current is None:
            continue
        if line.startswith("$ check "):
            rest = line[len("$ check "):]
            demo = rest.endswith(" --demo 200")
            current = (rest[:-len(" --demo 200")] if demo else rest, demo, [])
        elif line == "" and current is not None:
            cases.append(current)
            current = None
        elif current is not None:
            current[2].append(line)
    if current is not None:
        cases.append(current)
    return [(text, demo, "\n".join(lines)) for text, demo, lines in cases]


def render(text: str, fleet) -> str:
    from placement.cli.check import render_warnings
    return render_warnings(placement.compile(text).warnings(fleet), text).rstrip("\n")


@pytest.mark.parametrize("text, demo, expected", golden_cases())
def test_golden_rendered_lint(text, demo, expected, demo200):
    assert render(text, demo200 if demo else None) == expected


def test_golden_has_a_dozen_cases():
    assert len(golden_cases()) >= 12
    assert re.search(r"\^", GOLDEN.read_text())


# -- on random input ------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_leaves=6), fleets())
def test_lint_never_fails_and_its_findings_are_well_formed(text, document):
    predicate = placement.compile(text)
    for fleet in (None, Fleet.from_ecs(document["containerInstances"], tasks=document["tasks"] or None)):
        warnings = predicate.warnings(fleet)
        keys = [(w.span.end, -w.span.start) for w in warnings]
        assert keys == sorted(keys)                               # inner before outer, left to right
        for w in warnings:
            assert w.code and w.message and w.hint
            assert 0 <= w.span.start < w.span.end <= len(text)
            if w.hint.startswith(("attribute:", "not(", "task:group", "ec2InstanceId")) and " " in w.hint:
                placement.compile(w.hint)                         # a rewrite is itself an expression


def test_values_an_instance_lost_are_no_longer_in_the_fleet():
    fleet = Fleet.from_ecs([instance(1, {"stack": "prod"}), instance(2, {"stack": "dev"}),
                            instance(3, {"stack": "qa"})])
    assert codes("attribute:stack == Prod", fleet) == ["case-mismatch"]
    fleet.deregister("ci-1")
    assert codes("attribute:stack == Prod", fleet) == []
    fleet.put_attribute("ci-2", "stack", "staging")               # a value the dictionary gains later
    assert found("attribute:stack == stagin", fleet) == [("near-miss", "stagin", "attribute:stack == staging")]
    fleet.delete_attribute("ci-2", "stack")
    fleet.delete_attribute("ci-3", "stack")
    assert found("attribute:stak exists", fleet) == []            # no instance has stack any more
