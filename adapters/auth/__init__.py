"""Optional sign-in: OpenID Connect / Cognito JWTs verified against the issuer's JWKS
(docs/auth.md). The Lambda authorizer (handlers/authorize.py) and ``azuchi serve``'s
emulation of it use the same verifier."""
