"""OpenAI model adapters: the Responses API (``openai``) and any chat-completions server
(``openai-chat``: OpenAI, Ollama, vLLM, llama.cpp, LM Studio). The ``openai`` SDK is
imported only when one of them is built."""
