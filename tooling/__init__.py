"""Tools that run from a checkout, never in Lambda or in ``azuchi serve``: the Lambda
packager (``azuchi package``). Nothing in the runtime packages (core, adapters, handlers)
imports this package, and the packager leaves it out of the folders it builds."""
