#!/usr/bin/env python3
"""The MDA benchmark operations with Python's imaplib and poplib: a neutral
client, the one the published Dovecot figures were measured with.

    python3 python-mda.py '{"host": "127.0.0.1", "imapPort": 143, "pop3Port": 110,
                            "user": "u", "password": "p", "ops": ["uidfetch", ...],
                            "latencyIterations": 50}'

Prints one JSON object: per operation the wall time in ms of the command
alone (LOGIN and SELECT happen before the clock starts) and what it
returned, so the caller can check the answer before it trusts the time.

Operations: uidfetch (UID FETCH 1:* (BODY.PEEK[])), flags (FETCH 1:* (FLAGS)),
unseen (SEARCH UNSEEN), latency (connect+LOGIN+SELECT, p50/p95 over
latencyIterations sessions, LOGOUT untimed), retr (POP3 USER/PASS, STAT, then
RETR 1..n one at a time, as poplib does; QUIT untimed).
"""
import imaplib
import json
import poplib
import sys
import time

imaplib._MAXLINE = 10_000_000  # SEARCH over 10,000 messages is one long line
poplib._MAXLINE = 10_000_000


def imap_session(cfg):
    m = imaplib.IMAP4(cfg["host"], cfg["imapPort"])
    m.login(cfg["user"], cfg["password"])
    typ, data = m.select("INBOX")
    if typ != "OK":
        raise RuntimeError(f"SELECT: {typ} {data}")
    return m, int(data[0])


def close(m):
    try:
        m.logout()
    except Exception:
        pass


def uidfetch(cfg):
    m, exists = imap_session(cfg)
    try:
        t0 = time.perf_counter()
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
        ms = (time.perf_counter() - t0) * 1000
        if typ != "OK":
            raise RuntimeError(f"UID FETCH: {typ} {data}")
        # Literal responses come as (header bytes, literal bytes) tuples.
        bodies = [d[1] for d in data if isinstance(d, tuple)]
        return {"ms": ms, "exists": exists, "messages": len(bodies), "bytes": sum(len(b) for b in bodies)}
    finally:
        close(m)


def flags(cfg):
    m, exists = imap_session(cfg)
    try:
        t0 = time.perf_counter()
        typ, data = m.fetch("1:*", "(FLAGS)")
        ms = (time.perf_counter() - t0) * 1000
        if typ != "OK":
            raise RuntimeError(f"FETCH FLAGS: {typ} {data}")
        return {"ms": ms, "exists": exists, "messages": sum(1 for d in data if d is not None and b"FLAGS" in (d if isinstance(d, bytes) else d[0]))}
    finally:
        close(m)


def unseen(cfg):
    m, exists = imap_session(cfg)
    try:
        t0 = time.perf_counter()
        typ, data = m.search(None, "UNSEEN")
        ms = (time.perf_counter() - t0) * 1000
        if typ != "OK":
            raise RuntimeError(f"SEARCH: {typ} {data}")
        hits = sum(len(d.split()) for d in data if d)
        return {"ms": ms, "exists": exists, "hits": hits}
    finally:
        close(m)


def latency(cfg):
    samples = []
    for _ in range(int(cfg.get("latencyIterations", 50))):
        t0 = time.perf_counter()
        m, _exists = imap_session(cfg)
        samples.append((time.perf_counter() - t0) * 1000)
        close(m)
    s = sorted(samples)

    def pct(p):
        i = max(0, min(len(s) - 1, -(-p * len(s) // 100) - 1))
        return s[int(i)]

    return {"p50Ms": pct(50), "p95Ms": pct(95), "samples": len(s)}


def retr(cfg):
    p = poplib.POP3(cfg["host"], cfg["pop3Port"])
    try:
        p.user(cfg["user"])
        p.pass_(cfg["password"])
        n, octets = p.stat()
        t0 = time.perf_counter()
        total = 0
        for i in range(1, n + 1):
            _resp, lines, _size = p.retr(i)
            # poplib strips the CRLFs and undoes dot-stuffing: put the CRLFs back.
            total += sum(len(line) + 2 for line in lines)
        ms = (time.perf_counter() - t0) * 1000
        return {"ms": ms, "messages": n, "octets": octets, "bytes": total}
    finally:
        try:
            p.quit()
        except Exception:
            pass


OPS = {"uidfetch": uidfetch, "flags": flags, "unseen": unseen, "latency": latency, "retr": retr}


def main():
    cfg = json.loads(sys.argv[1])
    out = {}
    for op in cfg["ops"]:
        try:
            out[op] = OPS[op](cfg)
        except Exception as e:  # reported, not raised: the caller decides what a failure means
            out[op] = {"error": f"{type(e).__name__}: {e}"}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
