"""Rules engine: rule files (YAML) in, ``AlertEvent``s out.

``load_rules(dirs) -> (rules, errors)``, ``RuleEngine(rules).evaluate(...)``;
see ``rules/README.md`` for the rule language and the test format.
"""

from collector.rules.evaluator import RuleEngine, device_info
from collector.rules.loader import RuleError, load_rules
from collector.rules.model import Rule

__all__ = ["Rule", "RuleEngine", "RuleError", "device_info", "load_rules"]
