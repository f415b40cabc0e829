"""Built-in agent tools: safe, side-effect free."""
