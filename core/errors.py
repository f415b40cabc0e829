"""Every error azuchi's core knows, in one tree.

    AzuchiError                      code: a stable string clients may match on
    ├── InvalidInput                 the caller sent something wrong (4xx)
    │   ├── InvalidSessionId         malformed sessionId (400 on $connect)
    │   ├── MessageRejected          putMessage text missing, empty, not a string, too large
    │   ├── FrameRejected            a frame that is not JSON, not an object, or nested too deep
    │   ├── TextNotEncodable         text holding a lone surrogate, which UTF-8 cannot encode
    │   ├── ClientMessageIdReused    a clientMessageId already stored with another text
    │   ├── NothingToStop            stopGeneration while no reply is running
    │   ├── TurnRefused              regenerate / editMessage that cannot take the turn back
    │   ├── ApprovalRefused          approveTool / denyTool on a request that cannot be decided
    │   └── ValueNotStorable         a value the store cannot hold (a number past its range)
    ├── SignInRequired               the route needs a signed-in user (401 on $connect)
    │   └── InvalidToken             a sign-in token refused: expired, wrong audience/issuer/key ...
    ├── Forbidden
    │   └── SessionForbidden         the session belongs to another user (403 on $connect)
    ├── NotFound
    │   ├── SessionNotFound          well-formed but unknown sessionId (404 on $connect)
    │   └── ConnectionNotFound       a frame from a connection the store does not know
    ├── TransportError
    │   ├── ConnectionGone           the peer is gone (API Gateway 410)
    │   └── PayloadTooLarge          refused before sending (over 128 KB)
    ├── LimitExceeded                a limit or the spend cap refused the request (429);
    │                                carries ``retry_after_s``; nothing was stored
    ├── LockLost                     a lock holder learns its lease is gone
    │   └── FenceRejected            a write refused: a newer lock holder has written
    ├── BackendUnavailable           storage, lock or memory down, timed out or throttled
    │   │                            after bounded retries
    │   └── StorageFull              the store's disk is full: the write was refused whole
    └── ModelError                   the model provider failed
        ├── ModelThrottled
        ├── ModelInvalidRequest
        │   └── ModelContextExceeded the prompt and history do not fit the model's context
        ├── ModelTimeout
        └── ModelStreamError         failed in the middle of a reply

Adapters map vendor errors into this tree at their edge (``raise X(...) from exc``); nothing
above the adapters ever sees a vendor exception.
"""

from __future__ import annotations


class AzuchiError(Exception):
    """Base of every azuchi error. ``code`` is stable; the message is a human sentence."""

    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class InvalidInput(AzuchiError):
    code = "INVALID_INPUT"


class InvalidSessionId(InvalidInput):
    code = "INVALID_SESSION_ID"


class MessageRejected(InvalidInput):
    code = "MESSAGE_REJECTED"


class FrameRejected(InvalidInput):
    """The frame cannot be read: ``FRAME_NOT_JSON``, ``FRAME_NOT_OBJECT``, ``FRAME_TOO_DEEP``."""

    code = "FRAME_NOT_JSON"


class TextNotEncodable(InvalidInput):
    """Text that UTF-8 cannot encode (a lone surrogate such as ``"\\ud800"``, valid JSON
    but no character): refused before anything is stored, as no frame could carry it back."""

    code = "TEXT_NOT_ENCODABLE"


class ClientMessageIdReused(InvalidInput):
    """A putMessage repeats a stored ``clientMessageId`` with another text; the first
    message stays as it was."""

    code = "CLIENT_MESSAGE_ID_REUSED"


class NothingToStop(InvalidInput):
    """stopGeneration while the session has no reply running."""

    code = "NOTHING_RUNNING"


class TurnRefused(InvalidInput):
    """regenerate or editMessage refused, nothing changed: a reply is running or on its way
    (``REPLY_RUNNING``), there is no reply to write again (``NOTHING_TO_REGENERATE``), or
    the message named is not the session's last one (``NOT_LAST_MESSAGE``)."""

    code = "REPLY_RUNNING"


class ApprovalRefused(InvalidInput):
    """approveTool or denyTool refused, nothing changed: no such request in the session
    (``APPROVAL_NOT_FOUND``), already decided (``APPROVAL_DECIDED``), a newer message came
    after it (``APPROVAL_SUPERSEDED``), or it waited past its time (``APPROVAL_EXPIRED``)."""

    code = "APPROVAL_NOT_FOUND"


class ValueNotStorable(InvalidInput):
    """The store refused a value as out of its range or malformed (DynamoDB's
    ValidationException): the request is wrong, retrying will not help, the backend is up."""

    code = "VALUE_NOT_STORABLE"


class SignInRequired(AzuchiError):
    """No signed-in user where one is needed (listSessions anonymously; any route when
    sign-in is required)."""

    code = "SIGN_IN_REQUIRED"


class InvalidToken(SignInRequired):
    """A sign-in token that cannot be trusted; ``code`` says why (TOKEN_EXPIRED,
    TOKEN_WRONG_AUDIENCE, TOKEN_WRONG_ISSUER, TOKEN_BAD_SIGNATURE, TOKEN_UNKNOWN_KEY,
    TOKEN_MALFORMED, TOKEN_NOT_YET_VALID, TOKEN_NO_USER)."""

    code = "TOKEN_INVALID"


class Forbidden(AzuchiError):
    code = "FORBIDDEN"


class SessionForbidden(Forbidden):
    """The session belongs to another signed-in user (an anonymous caller included)."""

    code = "SESSION_FORBIDDEN"


class NotFound(AzuchiError):
    code = "NOT_FOUND"


class SessionNotFound(NotFound):
    code = "SESSION_NOT_FOUND"


class ConnectionNotFound(NotFound):
    code = "CONNECTION_NOT_FOUND"


class TransportError(AzuchiError):
    code = "TRANSPORT_ERROR"


class ConnectionGone(TransportError):
    code = "CONNECTION_GONE"


class PayloadTooLarge(TransportError):
    code = "PAYLOAD_TOO_LARGE"


class LimitExceeded(AzuchiError):
    """A limit refused the request before anything was stored (core/services/limits.py).
    ``retry_after_s`` says when the same request would be accepted again (whole seconds,
    at least 1)."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, code: str, retry_after_s: int) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = max(1, int(retry_after_s))


class LockLost(AzuchiError):
    code = "LOCK_LOST"


class FenceRejected(LockLost):
    """A store refused a reply's write because a newer lock fence has written for the
    session: the writer's lease ran out and another replier took over."""

    code = "FENCE_REJECTED"


class BackendUnavailable(AzuchiError):
    code = "BACKEND_UNAVAILABLE"


class StorageFull(BackendUnavailable):
    code = "STORAGE_FULL"


class ModelError(AzuchiError):
    code = "MODEL_ERROR"


class ModelThrottled(ModelError):
    code = "MODEL_THROTTLED"


class ModelInvalidRequest(ModelError):
    code = "MODEL_INVALID_REQUEST"


class ModelContextExceeded(ModelInvalidRequest):
    """The request is longer than the model's context window (refused before any text)."""

    code = "MODEL_CONTEXT_EXCEEDED"


class ModelTimeout(ModelError):
    code = "MODEL_TIMEOUT"


class ModelStreamError(ModelError):
    code = "MODEL_STREAM_ERROR"
