#!/usr/bin/env python3
"""Write DIR/NAME-COUNT.keys files of unique random 32-bit keys (raw LE uint32).

Usage: gen-keys.py DIR [FILES] [MAX_KEYS] [SEED]
For trying phcluster without the perfecthash-keys collection."""
import os
import random
import struct
import sys


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 1
    out = sys.argv[1]
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    max_keys = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    os.makedirs(out, exist_ok=True)
    for i in range(files):
        n = rng.randint(1, max_keys)
        keys = sorted(rng.sample(range(1 << 32), n))
        path = os.path.join(out, f"gen{i:05d}-{n}.keys")
        with open(path + ".tmp", "wb") as f:
            f.write(struct.pack(f"<{n}I", *keys))
        os.replace(path + ".tmp", path)
    print(f"gen-keys: wrote {files} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
