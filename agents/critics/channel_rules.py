"""Channel-rules critic (hard): the channel's limits and bans, checked by ``check_rules``."""

from __future__ import annotations

from copyloop.agents.critics.base import CriticContext, verdict
from copyloop.tools.gsm import sms_length
from copyloop.tools.schemas import Critique, Draft
from copyloop.tools.text import visible_len, word_count
from copyloop.tools.validators import check_rules, shouted_words


class ChannelRulesCritic:
    """Fails on any hard rule violation; soft ones (below the target length, fewer bullets than
    ideal) lower the score and are reported but do not fail."""

    name = "channel_rules"

    def critique(self, draft: Draft, ctx: CriticContext) -> Critique:
        spec = ctx.spec
        text = draft.text
        # the product's own capitalised words ("LEGO", "BPA") are not shouting
        source = ctx.product.fact_text()
        violations = check_rules(text, spec, allowed_caps=shouted_words(source), product_text=source)
        hard = [v for v in violations if v.hard]
        soft = [v for v in violations if not v.hard]
        details = {
            "violations": [v.model_dump() for v in violations],
            "chars": visible_len(text),
            "words": word_count(text),
        }
        if spec.gsm7:
            sms = sms_length(text, spec.max_chars or 160, spec.ucs2_max_chars or 70)
            details["sms"] = {"encoding": sms.encoding, "units": sms.units, "limit": sms.limit}
        score = 1.0 - 0.3 * len(hard) - 0.1 * len(soft)
        message = "; ".join(v.message for v in hard + soft)
        return verdict(self.name, score, not hard, hard=True, message=message, **details)


__all__ = ["ChannelRulesCritic"]
