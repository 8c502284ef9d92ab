"""Grammar-constrained sampling at almost the cost of unconstrained sampling.

llama-cpp-python puts the grammar inside the sampler chain, so llama.cpp checks every token of the
49k vocabulary against the grammar at every step; on SmolLM2 that halved tokens/s. llama.cpp's
own samplers (common/sampling.cpp) avoid this: sample as if there were no grammar, check only the
chosen token, and apply the grammar to the whole vocabulary only when that token is rejected.
That is exactly sampling from the grammar-constrained distribution (an accepted token t has
probability p(t) + P(reject)·p(t)/Z = p(t)/Z, Z the valid mass), and most steps take the fast path.

``install_grammar_first(llama)`` makes one ``Llama`` instance sample this way whenever a grammar is
passed; calls without a grammar are untouched.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import numpy as np


class GrammarFirstSampler:
    """Duck-types ``llama_cpp._internals.LlamaSampler`` for ``Llama.sample``: ``sample(ctx, idx)``."""

    def __init__(self, chain: Any, grammar_chain: Any, n_vocab: int) -> None:
        from llama_cpp._internals import LlamaTokenDataArray

        self.chain = chain  # penalties, top-k/p, temperature, dist/greedy: no grammar
        self.grammar = grammar_chain  # the grammar alone
        self.n_vocab = n_vocab
        self._cur = LlamaTokenDataArray(n_vocab=n_vocab)
        self._one = LlamaTokenDataArray(n_vocab=1)
        self.fast = 0
        self.slow = 0

    def sample(self, ctx: Any, idx: int = -1) -> int:
        import llama_cpp

        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, idx), shape=(self.n_vocab,))
        self._cur.copy_logits(logits)
        llama_cpp.llama_sampler_apply(self.chain.sampler, ctypes.byref(self._cur.candidates))
        token = int(self._cur.candidates_data.id[self._cur.candidates.selected])
        if self._allowed(token):
            self.fast += 1
        else:
            self.slow += 1
            self._cur.copy_logits(logits)
            llama_cpp.llama_sampler_apply(self.grammar.sampler, ctypes.byref(self._cur.candidates))
            llama_cpp.llama_sampler_apply(self.chain.sampler, ctypes.byref(self._cur.candidates))
            token = int(self._cur.candidates_data.id[self._cur.candidates.selected])
        llama_cpp.llama_sampler_accept(self.grammar.sampler, token)
        llama_cpp.llama_sampler_accept(self.chain.sampler, token)
        return token

    def _allowed(self, token: int) -> bool:
        import llama_cpp

        one = self._one
        one.candidates_data.id[0] = token
        one.candidates_data.logit[0] = 0.0
        one.candidates_data.p[0] = 0.0
        one.candidates.size = 1
        one.candidates.sorted = False
        one.candidates.selected = -1
        llama_cpp.llama_sampler_apply(self.grammar.sampler, ctypes.byref(one.candidates))
        return math.isfinite(float(one.candidates_data.logit[0]))

    def close(self) -> None:
        self.chain.close()
        self.grammar.close()


def install_grammar_first(llama: Any) -> None:
    """Route ``llama``'s grammar-constrained sampling through ``GrammarFirstSampler``."""
    from llama_cpp._internals import LlamaSampler

    original = llama._init_sampler

    def init_sampler(*args: Any, grammar: Any = None, **kwargs: Any) -> Any:
        chain = original(*args, grammar=None, **kwargs)
        if grammar is None:
            return chain
        grammar_chain = LlamaSampler()
        grammar_chain.add_grammar(llama._model, grammar)
        return GrammarFirstSampler(chain, grammar_chain, llama.n_vocab())

    llama._init_sampler = init_sampler


__all__ = ["GrammarFirstSampler", "install_grammar_first"]
