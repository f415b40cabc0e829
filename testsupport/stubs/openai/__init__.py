"""A stub OpenAI server: ``POST /v1/responses`` and ``POST /v1/chat/completions``, streamed
in the real wire formats, so that the real ``openai`` SDK (and azuchi's adapters) run
against it unchanged.

What it answers is scripted by the LAST user text it receives:
- the last input item is a tool result -> a text answer quoting every tool result;
- a title request (instructions / system prompt starting "Write a title") -> a short title;
- "throttle" -> HTTP 429 the first 2 times for that exact text, then a normal reply;
- "fail" -> a few words, then the provider's mid-stream error;
- "stall" -> waits ``stall_s`` before answering (to try timeouts);
- "plan" -> calls ``update_plan`` and ``current_time`` (if offered);
- arithmetic such as "12 * 7" -> calls ``calculate`` (if offered);
- anything else -> a reply of ``reply_tokens`` words, one word per event.

Like the real APIs it validates what matters: a ``previous_response_id`` it does not know (or
one a test expired) is HTTP 400 ``previous_response_not_found``; a tool result must answer a
known call; a chat ``tool`` message needs the assistant ``tool_calls`` before it and (as
some servers insist) tools declared. Mid-stream failures: ``response.failed`` (Responses);
an ``{"error": {...}}`` data payload, then the connection closes (chat, as OpenAI and vLLM).

Run it alone: ``python -m testsupport.stubs.openai --port 8100`` and point azuchi at it with
``OPENAI_BASE_URL=http://127.0.0.1:8100/v1``.

Modules: ``script`` (the stub's state and scripted answers), ``endpoint`` (the prelude every
endpoint shares), ``responses`` and ``chat`` (the two wire formats), ``wire`` (what both
formats share), ``server`` (the aiohttp app) and ``__main__`` (the command line).
"""

from testsupport.stubs.openai.script import Answer, OpenAIStub, Turn
from testsupport.stubs.openai.server import running_openai_stub

__all__ = ["Answer", "OpenAIStub", "Turn", "running_openai_stub"]
