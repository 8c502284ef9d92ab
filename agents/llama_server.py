"""llama-cpp-python's OpenAI-compatible server with copyloop's safe model defaults.

    python -m copyloop.agents.llama_server --model PATH.gguf --host 127.0.0.1 --port 8080 [server options]

Exactly ``python -m llama_cpp.server`` (same options), except that models load with llama.cpp's
extra buffer types off, as every model copyloop loads in-process (``llama_loader``): they crashed
``llama_decode`` on AMX CPUs (issue #10). Then point copyloop at it with
``COPYLOOP_LLM__PROVIDER=openai COPYLOOP_LLM__BASE_URL=http://127.0.0.1:8080/v1``.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from copyloop.agents.llama_loader import check_cpu

    check_cpu()
    import llama_cpp.llama as llama_module

    lowlevel = llama_module.llama_cpp
    original = lowlevel.llama_model_default_params

    def safe_defaults():  # type: ignore[no-untyped-def]
        params = original()
        params.use_extra_bufts = False
        return params

    lowlevel.llama_model_default_params = safe_defaults  # this process only serves models
    from llama_cpp.server.__main__ import main as serve

    sys.argv = ["llama_cpp.server", *(sys.argv[1:] if argv is None else argv)]
    serve()


if __name__ == "__main__":
    main()
