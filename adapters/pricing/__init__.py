"""The price table: dollars per token for models, and AWS list prices for the cost model."""
