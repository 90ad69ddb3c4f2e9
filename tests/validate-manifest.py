"""
validate-manifest.py SCHEMA MANIFEST...: check fingerprint manifests against
the JSON Schema (draft 2020-12) with python3-jsonschema.

Prints one line per violation, "MANIFEST: POINTER: MESSAGE", POINTER being
the JSON pointer (RFC 6901) of the offending value ("(root)" for the whole
document). Exit 0 when every manifest is valid, 1 when one is not, 2 when
the validator cannot run (usage, no jsonschema, an unreadable schema).
"""
import json
import sys

LONG = 60  # characters of a value's repr kept in a message


def pointer(path):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path) or "(root)"


def short(value):
    shown = repr(value)
    return shown if len(shown) <= LONG else shown[:LONG] + "..."


def message(error):
    """One line: the message with long values shortened, and what was expected."""
    if error.validator is None:  # a false schema: this key may not appear here
        msg = "%s is not allowed here" % (short(error.path[-1]) if error.path else "this value")
    elif error.validator == "not":
        msg = "%s is not allowed" % short(error.instance)
    else:
        msg = error.message.replace(repr(error.instance), short(error.instance))
    title = error.schema.get("title") if isinstance(error.schema, dict) else None
    if title:
        msg += " (expected " + title + ")"
    return msg.replace("\n", "\\n")


def main(argv):
    if len(argv) < 3:
        print("usage: validate-manifest.py SCHEMA MANIFEST...", file=sys.stderr)
        return 2
    try:
        from jsonschema import Draft202012Validator
    except ImportError as e:
        print("validate-manifest.py: python3-jsonschema is needed: %s" % e, file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            schema = json.load(f)
        Draft202012Validator.check_schema(schema)
    except Exception as e:  # unreadable, not JSON, or not a schema
        print("%s: not a usable schema: %s" % (argv[1], e), file=sys.stderr)
        return 2
    validator = Draft202012Validator(schema)

    status = 0
    for name in argv[2:]:
        try:
            with open(name, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print("%s: (root): not a readable UTF-8 JSON document: %s" % (name, e))
            status = 1
            continue
        # Sorted, and once: two rules can reject the same value the same way.
        lines = sorted({(pointer(e.absolute_path), message(e)) for e in validator.iter_errors(doc)})
        for where, what in lines:
            print("%s: %s: %s" % (name, where, what))
        if lines:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
