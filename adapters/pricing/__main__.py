"""What one reply costs with each model of the price table.

    python -m adapters.pricing [--input 1500] [--output 300] [--cached 1000] [--prices FILE]

A reference reply: ``--input`` tokens of system prompt, history and question (``--cached`` of
them read from the provider's prompt cache on a later turn), ``--output`` tokens of answer.
"""

from __future__ import annotations

import argparse
import sys

from adapters.pricing.table import PriceTableError, load_price_table
from core.domain import Usage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=int, default=1_500, help="input tokens per reply")
    parser.add_argument("--output", type=int, default=300, help="output tokens per reply")
    parser.add_argument("--cached", type=int, default=1_000, help="of the input, cache reads")
    parser.add_argument("--prices", help="a price file laid over the built-in one")
    args = parser.parse_args(argv)
    if not 0 <= args.cached <= args.input or args.output < 0:
        parser.error("need 0 <= --cached <= --input and --output >= 0")
    try:
        table = load_price_table(args.prices)
    except PriceTableError as error:
        print(f"azuchi: {error}", file=sys.stderr)
        return 2
    fresh = Usage(args.input, args.output)
    cached = Usage(args.input - args.cached, args.output, cache_read_tokens=args.cached)
    print(
        f"Cost of one reply ({args.input:,} input tokens, {args.output:,} output; prices as of "
        f"{table.as_of}, {table.currency})"
    )
    print(f"{'model':<44} {'first turn':>11} {'cached':>11} {'per 1,000':>10}")
    for model_id, price in table.models.items():
        first, later = price.cost(fresh), price.cost(cached)
        print(f"{model_id:<44} {first:11.5f} {later:11.5f} {later * 1000:10.2f}")
    print(f"('cached': {args.cached:,} of the input tokens are prompt-cache reads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
