#!/usr/bin/env python3
"""Independent verifier of a Vigie audit export (format vigie-audit-export/1).

Written from the format described in Vigie's README, sharing no code with the server, so an
inspector can check an export on their own machine with Python's standard library and the
well-known `cryptography` package (Ed25519):

    python3 verify_audit.py EXPORT.json --key 'vigie.room+57c517b8+AXQB…'

It recomputes every event's leaf from its stored fields, the Merkle tree root (RFC 6962) of the
log up to the range's last event from the export's left edge, checks that tree against each
signed checkpoint (signature by the published key; RFC 6962 consistency proof), checks purge
records by inclusion proofs, and lists witnesses' co-signatures. Exit status 0: verified; 1: not.
"""

import argparse
import base64
import hashlib
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "vigie-audit-export/1"


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def event_leaf(e):
    """The leaf of one event: README, "What a leaf commits to"."""
    if e.get("body") is not None and e.get("salt") is not None:
        digest = sha256(base64.b64decode(e["salt"]) + base64.b64decode(e["body"]))
    elif e.get("digest") is not None:
        digest = base64.b64decode(e["digest"])
    else:
        raise ValueError("event %d has neither its content nor its digest" % e["seq"])
    actor, kind = e["actor"].encode(), e["kind"].encode()
    data = struct.pack(">Qq", e["seq"], e["at_ms"])
    data += struct.pack(">H", len(actor)) + actor + struct.pack(">H", len(kind)) + kind + digest
    return leaf_hash(data)


class Frontier:
    """The right edge of an RFC 6962 tree: complete subtrees, largest first."""

    def __init__(self, size, left_edge):
        self.stack = []  # (leaves, hash)
        sizes = [1 << b for b in range(63, -1, -1) if size & (1 << b)]
        if len(sizes) != len(left_edge):
            raise ValueError("the left edge of %d events has %d hashes, not %d" % (size, len(left_edge), len(sizes)))
        self.stack = list(zip(sizes, left_edge))
        self.size = size

    def push(self, h):
        n = 1
        while self.stack and self.stack[-1][0] == n:
            n2, left = self.stack.pop()
            h, n = node_hash(left, h), n + n2
        self.stack.append((n, h))
        self.size += 1

    def root(self):
        h = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            h = node_hash(left, h)
        return h


def check_consistency(proof, old_size, old_root, new_size, new_root):
    """RFC 9162 section 2.1.4.2."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0 or old_size > new_size:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: the old root starts the path
        proof = [old_root] + proof
    if not proof:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def check_inclusion(proof, index, size, leaf, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


class Key:
    """A C2SP signed-note Ed25519 verifier key: name+hex(key id)+base64(0x01 || public key)."""

    def __init__(self, text):
        name, key_id, key = text.strip().split("+", 2)
        raw = base64.b64decode(key)
        if raw[0] != 1 or len(raw) != 33:
            raise ValueError("not an Ed25519 note key")
        if sha256(name.encode() + b"\n" + raw)[:4] != bytes.fromhex(key_id):
            raise ValueError("the key id does not match the key")
        self.name, self.id, self.public = name, bytes.fromhex(key_id), Ed25519PublicKey.from_public_bytes(raw[1:])

    def signed(self, note):
        """Whether `note` (text, blank line, signature lines) carries this key's valid signature."""
        text, _, sigs = note.rpartition("\n\n")
        text += "\n"
        for line in sigs.splitlines():
            if not line.startswith("\u2014 "):
                continue
            name, sig = line[2:].split(" ")
            sig = base64.b64decode(sig)
            if name != self.name or sig[:4] != self.id:
                continue
            try:
                self.public.verify(sig[4:], text.encode())
                return True
            except InvalidSignature:
                return False
        return False


def parse_checkpoint(note, origin):
    lines = note.split("\n")
    if lines[0] != origin:
        raise ValueError("the checkpoint is of log %r, not %r" % (lines[0], origin))
    return int(lines[1]), base64.b64decode(lines[2])


def verify(export, key_text):
    problems, notes = [], []
    if export.get("format") != FORMAT:
        return ["this file is %r, not %r" % (export.get("format"), FORMAT)], notes
    key = Key(key_text)
    first = export["first_seq"]
    frontier = Frontier(first - 1, [base64.b64decode(h) for h in export["left_edge"]])
    for e in export["events"]:
        if e["seq"] != frontier.size + 1:
            problems.append("event %d is missing (the next is %d)" % (frontier.size + 1, e["seq"]))
            break
        frontier.push(event_leaf(e))
        if e.get("event") is not None and e["kind"] != "positions_reported":
            stored = json.loads(base64.b64decode(e["body"]))
            if stored != e["event"]:
                problems.append("event %d: its readable form is not what its stored bytes say" % e["seq"])
    last, root = frontier.size, frontier.root()
    anchors = []
    for a in export["anchors"]:
        if not key.signed(a["checkpoint"]):
            problems.append("a checkpoint is not signed by %s's key" % key.name)
            continue
        size, signed_root = parse_checkpoint(a["checkpoint"], key.name)
        anchors.append((size, signed_root))
        proof = [base64.b64decode(h) for h in a["consistency"]]
        if not check_consistency(proof, last, root, size, signed_root):
            problems.append("events %d..%d are not the ones the log signed at size %d" % (first, last, size))
        for w in export.get("witnesses", []):
            try:
                if Key(w["key"]).signed(a["checkpoint"]):
                    notes.append("co-signed by %s at size %d" % (w["name"], size))
            except ValueError:
                pass
    if not anchors:
        problems.append("no checkpoint is signed by this key")
    purges = []
    for p in export.get("purges", []):
        e = p["event"]
        ok = anchors and check_inclusion([base64.b64decode(h) for h in p["proof"]], e["seq"] - 1,
                                         anchors[0][0], event_leaf(e), anchors[0][1])
        if not ok:
            problems.append("the purge record %d is not in the signed log" % e["seq"])
            continue
        r = json.loads(base64.b64decode(e["body"]))["record"]
        purges.append(r)
    for e in export["events"]:  # purge records within the range itself
        if e["kind"] == "audit.purged" and e.get("body") is not None:
            purges.append(json.loads(base64.b64decode(e["body"]))["record"])
    for e in export["events"]:
        rule = e.get("purged")
        if rule is None:
            continue
        if not any(r["rule"] == rule and r["kind"] == e["kind"] and e["at_ms"] < r["before_ms"]
                   and e["seq"] <= r["through_seq"] for r in purges):
            problems.append("event %d is purged under %s but no recorded purge covers it" % (e["seq"], rule))
        elif "purged under %s" % rule not in " ".join(notes):
            notes.append("content purged under %s (recorded)" % rule)
    notes.insert(0, "%d events, seq %d..%d" % (len(export["events"]), first, last))
    return problems, notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--key", required=True, help="the log's published public key")
    args = parser.parse_args()
    with open(args.file, encoding="utf-8") as f:
        export = json.load(f)
    try:
        problems, notes = verify(export, args.key)
    except (ValueError, KeyError, TypeError, IndexError) as e:
        problems, notes = ["the key or the file is malformed: %s" % e], []
    for n in notes:
        print(n)
    if problems:
        for p in problems:
            print("BROKEN: " + p)
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
