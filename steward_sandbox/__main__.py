"""Open one pickle-based model file and answer with it in skops format (see the package docstring).

Protocol: stdin is one JSON object {"path": ..., "format": "pickle" | "joblib"}; on success the
process writes the skops bytes to stdout and exits 0; on failure it writes one line to stderr and
exits 2. It imports nothing from Steward.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    try:
        request = json.loads(sys.stdin.read())
        path, fmt = str(request["path"]), str(request["format"])
        if fmt == "joblib":
            import joblib

            model = joblib.load(path)
        elif fmt == "pickle":
            import pickle

            with open(path, "rb") as fh:
                model = pickle.load(fh)
        else:
            raise ValueError(f"format {fmt!r} is not a pickle-based format")
        import skops.io

        converted = skops.io.dumps(model)
    except BaseException as exc:  # any failure, including SystemExit from the payload: one line
        message = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:2000]
        sys.stderr.write(message + "\n")
        return 2
    sys.stdout.buffer.write(converted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
