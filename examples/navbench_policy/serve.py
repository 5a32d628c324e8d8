"""Serve the example policy to NavBench-GS from its own process, with nothing of this project imported.

    python examples/navbench_policy/serve.py --port 8765        # any Python with numpy, msgpack, websockets
    ./isaaclab.sh -p scripts/eval_navbench.py --method policy --policy ws://127.0.0.1:8765 --name RouteFollower

The wire format (docs/navbench.md#enter-your-own-policy): one WebSocket connection per evaluation; the server
first sends its spec, then answers every observation message with one action message. Messages are
MessagePack maps; a NumPy array travels as {"__ndarray__": True, "dtype", "shape", "data": raw bytes}.
The server listens on loopback only unless --host says otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgpack
import numpy as np
from websockets.sync.server import serve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from route_follower import make_policy  # noqa: E402


def encode(obj):
    if isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj, dtype=obj.dtype.newbyteorder("<"))
        return {"__ndarray__": True, "dtype": arr.dtype.str, "shape": list(arr.shape), "data": arr.tobytes()}
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot send {type(obj).__name__}")


def decode(obj):
    if obj.get("__ndarray__"):
        return np.frombuffer(obj["data"], dtype=np.dtype(obj["dtype"])).reshape(obj["shape"])
    return obj


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--speed", type=float, default=0.8)
    args = parser.parse_args()
    policy = make_policy(speed=args.speed)

    def handle(ws):
        ws.send(msgpack.packb(policy.spec, default=encode))
        for message in ws:
            action = policy(msgpack.unpackb(message, object_hook=decode))
            ws.send(msgpack.packb(action, default=encode))

    with serve(handle, args.host, args.port, max_size=None) as server:
        print(f"serving the route follower on ws://{args.host}:{args.port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
