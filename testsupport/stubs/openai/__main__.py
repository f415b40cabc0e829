"""``python -m testsupport.stubs.openai --port 8100``: the stub alone, for a separately started
``azuchi serve`` (pointed at it with ``OPENAI_BASE_URL``)."""

from __future__ import annotations

import argparse
import asyncio

import testsupport.stubs.openai as package
from testsupport.stubs.openai.server import running_openai_stub


def main() -> None:
    """Serves until interrupted, printing the URL line that callers wait for."""
    parser = argparse.ArgumentParser(
        prog="python -m testsupport.stubs.openai",
        description=(package.__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--tokens-per-second", type=float, default=30.0)
    parser.add_argument("--reply-tokens", type=int, default=40)
    parser.add_argument("--no-usage", action="store_true", help="chat: never send usage")
    args = parser.parse_args()

    async def serve() -> None:
        async with running_openai_stub(
            args.host,
            args.port,
            tokens_per_second=args.tokens_per_second,
            reply_tokens=args.reply_tokens,
            omit_usage=args.no_usage,
        ) as stub:
            print(f"OpenAI stub at {stub.url}  (OPENAI_BASE_URL={stub.url})", flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
