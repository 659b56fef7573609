"""Runs a learner's code inside the sandbox (`dlplay.exercises.sandbox`) and calls one of its
functions on the inputs the server chose. Standalone on purpose: it imports nothing of dlplay, and
it never sees the expected answers — the server compares what comes back.

stdin: {"code": "...", "function": "update", "calls": [[arg, ...], ...]} where an array is
{"__array__": nested list, "dtype": "float64"}. stdout (its last line): {"results": [{"value": …} or
{"error": "…"}], "printed": "the first 4,000 characters the code printed", "error": "…"}.
With "trainer" (dlplay's source of a `train(fn, **args)` generator) instead of calls, each row the
training yields is a line "ROW {…}" as soon as it comes.
"""
import io
import json
import linecache
import sys
import traceback

PRINTED_MAX = 4000
LEARNER = "<your code>"


def decode(v):
    if isinstance(v, dict) and "__array__" in v:
        import numpy as np

        return np.array(v["__array__"], dtype=v["dtype"])
    if isinstance(v, list):
        return [decode(x) for x in v]
    return v


def encode(v):
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is always there
        np = None
    if np is not None and isinstance(v, np.ndarray):
        return {"__array__": v.tolist(), "dtype": str(v.dtype), "shape": list(v.shape)}
    if np is not None and isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return {"__repr__": repr(v)[:200], "type": type(v).__name__}


def learner_traceback(exc: BaseException) -> str:
    """The traceback trimmed to the learner's own lines: where in their code it went wrong."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == LEARNER]
    lines = [f"line {f.lineno}, in {f.name}: {f.line}" for f in frames]
    return "\n".join(lines + [f"{type(exc).__name__}: {exc}"])


class Capped(io.TextIOBase):
    """What the code prints: the first characters kept, the rest counted."""

    def __init__(self):
        self.kept, self.total = [], 0

    def write(self, s):
        if self.total < PRINTED_MAX:
            self.kept.append(s[:PRINTED_MAX - self.total])
        self.total += len(s)
        return len(s)

    def text(self):
        more = self.total - PRINTED_MAX
        return "".join(self.kept) + (f"\n… and {more:,} more characters" if more > 0 else "")


def main() -> None:
    request = json.loads(sys.stdin.read())
    out = sys.stdout
    printed = Capped()
    sys.stdout = sys.stderr = printed
    reply = {"results": []}
    try:
        namespace = {"__name__": "learner"}
        linecache.cache[LEARNER] = (len(request["code"]), None, request["code"].splitlines(True), LEARNER)
        exec(compile(request["code"], LEARNER, "exec"), namespace)  # noqa: S102 - inside the sandbox: the point
        fn = namespace.get(request["function"])
        if not callable(fn):
            reply["error"] = f"Your code defines no function named {request['function']}."
        elif request.get("trainer"):  # train a model with the learner's piece: rows streamed as they come
            trainer: dict = {}
            exec(compile(request["trainer"], "<trainer>", "exec"), trainer)  # noqa: S102 - dlplay's own source
            for row in trainer["train"](fn, **request.get("args", {})):
                out.write("ROW " + json.dumps(row) + "\n")
                out.flush()
        else:
            for args in request["calls"]:
                try:
                    reply["results"].append({"value": encode(fn(*decode(args)))})
                except Exception as exc:  # noqa: BLE001 - a learner's error, reported per call
                    reply["results"].append({"error": learner_traceback(exc)})
    except SyntaxError as exc:
        reply["error"] = f"SyntaxError on line {exc.lineno}: {exc.msg}\n{(exc.text or '').rstrip()}"
    except BaseException as exc:  # noqa: BLE001 - MemoryError, SystemExit, KeyboardInterrupt in learner code
        reply["error"] = learner_traceback(exc)
    reply["printed"] = printed.text()
    out.write("\n" + json.dumps(reply) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
