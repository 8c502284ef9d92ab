"""The Slack bot: ``/copy``, app mentions, thread replies and buttons, one thread = one Session.

``build_app(settings, engine_factory=...)`` returns a Bolt ``App`` without touching the network
(``token_verification_enabled=False``; the Web API client points at ``settings.slack.api_url``),
so tests build it with fake tokens against a local mock of the Web API. ``build_bot`` returns the
``CopyBot`` behind it (its executor, session store and event ledger) for ``drain()``/``close()``.

Request path (HTTP mode, ``copyloop slack serve``; Socket Mode, ``copyloop slack socket``):

1. Bolt verifies the signature with the signing secret (bad or older than 5 minutes -> 401;
   nothing else runs). Socket Mode needs no signature: the WebSocket is authenticated.
2. A middleware drops Events API re-deliveries (``X-Slack-Retry-Num``) whose ``event_id`` the
   ledger has seen (``copyloop.slack.ledger``), so a retry never starts a second draft.
3. The listener calls ``ack()`` first — Slack wants it within 3 s — posts a cheap placeholder
   ("Writing…") in the thread and queues the model work on the bot's own executor
   (``settings.slack.workers`` threads, default 1: one local model, requests queued in order).
4. The worker runs the Session command and replaces the placeholder (``chat.update``) with the
   draft and its buttons. Errors are translated here, at the surface: a refusal posts its
   reasons, any other failure posts an apology and is logged with ``logger.exception``.

Threads: ``/copy`` posts a root message and the session lives in its thread; an app mention
starts a session in the mention's thread. Session id = ``slack:<team>:<channel>:<thread_ts>``,
carried in every button's value. Replies in a session thread are chat turns: free text is a
request ("shorter, mention the bamboo"); a reply that is exactly ``accept``, ``undo``,
``score``, ``regenerate``, ``variants [n]``, ``pick N`` or ``channel NAME`` runs that command.

Experiments: ``/copy experiment <product> [channel]`` posts a root message and, in its thread, the
A/B experiment the loop starts (K diverse variants, ``copyloop.experiments``) with Status /
Retire losers & refresh / Close & feed back buttons; replies ``status``, ``refresh`` or ``close``
in that thread do the same. The thread is the experiment's ``origin``, stored with it, so a
restart loses nothing. ``watch_experiments`` (started by ``copyloop slack serve|socket``) posts in
the thread when a winner is declared, a guardrail or sample-ratio alarm fires, or the winner shows
fatigue — once per event (the event ledger remembers).

Slack app configuration: slash command ``/copy`` and Interactivity pointing at
``https://<host>/slack/events`` (HTTP mode), bot events ``app_mention`` and ``message.channels``
(``message.groups`` for private channels), bot scopes ``commands``, ``chat:write``,
``app_mentions:read``, ``channels:history`` (``groups:history``). Socket Mode needs an app-level
token with ``connections:write`` and no public URL.

Secrets come only from ``Settings.slack`` (``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``,
``SLACK_APP_TOKEN``) as ``SecretStr``; none is ever logged (slack_sdk redacts the
Authorization header in its debug log).
"""

from __future__ import annotations

import logging
import re
import socketserver
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from copyloop.engine_factory import EngineFactory, default_engine
from copyloop.errors import CopyloopError, InputError, RuleRefusal
from copyloop.chat.product_input import USAGE, ProductCatalog, parse_product, slack_plain_text, split_channel
from copyloop.chat.session import DEFAULT_CHANNEL, Session, SessionStore, Version
from copyloop.settings import Settings
from copyloop.slack.blocks import (
    BUTTONS,
    PICK_ACTION,
    accepted_blocks,
    draft_blocks,
    escape,
    note_blocks,
    scores_blocks,
    variant_blocks,
)
from copyloop.slack.ledger import EventLedger
from copyloop.tools.schemas import ProductBrief
from copyloop.chat.turns import TurnCommand, parse_turn
from copyloop.experiments import Experiment, ExperimentStore
from copyloop.slack.experiment_blocks import EXPERIMENT_COMMANDS, experiment_blocks, status_text

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
EXPERIMENT_USAGE = (
    "Usage: /copy experiment <product text | product JSON | catalog id> [channel] — starts an A/B experiment "
    "with diverse variants from the loop; reply status, refresh or close in its thread"
)
BUTTON_REQUESTS = {"copy_shorter": "Make it shorter.", "copy_playful": "Make it more playful."}


@dataclass(frozen=True)
class Where:
    """A Slack thread: the channel and the root message's ts."""

    channel: str
    thread_ts: str
    team: str = ""

    @property
    def session_id(self) -> str:
        return f"slack:{self.team or '-'}:{self.channel}:{self.thread_ts}"


class _DropMessage(logging.Filter):
    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.fragment = fragment

    def filter(self, record: logging.LogRecord) -> bool:
        return self.fragment not in record.getMessage()


class CopyBot:
    """Owns the Bolt app, the session store, the event ledger and the post-ack worker pool."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Any = None,
        engine_factory: EngineFactory | None = None,
        client: WebClient | None = None,
        store: SessionStore | None = None,
        socket_mode: bool = False,
    ) -> None:
        self.settings = settings
        self.store = store or SessionStore(settings, engine, engine_factory=engine_factory or default_engine)
        self.ledger = EventLedger(settings.home / "slack_events.sqlite")
        self.catalog = ProductCatalog(settings.slack.catalog_path) if settings.slack.catalog_path else None
        self.executor = ThreadPoolExecutor(max_workers=settings.slack.workers, thread_name_prefix="copyloop-slack")
        self._futures: set[Future[None]] = set()
        self._futures_lock = threading.Lock()
        self._experiments: ExperimentStore | None = None
        self._experiments_lock = threading.Lock()
        self._stop_watch = threading.Event()
        self._watcher: threading.Thread | None = None
        self.app = self._build_app(client, socket_mode)
        self.client: WebClient = self.app.client

    # construction -----------------------------------------------------------------------------
    def _build_app(self, client: WebClient | None, socket_mode: bool) -> App:
        slack = self.settings.slack
        if client is None:
            if slack.bot_token is None:
                raise InputError("SLACK_BOT_TOKEN is not set (the bot's xoxb- token)", field="SLACK_BOT_TOKEN")
            client = WebClient(token=slack.bot_token.get_secret_value(), base_url=slack.api_url)
        secret = slack.signing_secret.get_secret_value() if slack.signing_secret else ""
        if not socket_mode and not secret:
            raise InputError("SLACK_SIGNING_SECRET is not set (needed to verify requests in HTTP mode)", field="SLACK_SIGNING_SECRET")
        # Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that the given
        # client wins over it; our client *is* that token (plus SLACK_API_URL), so mute that one warning.
        bolt_logger = logging.getLogger("slack_bolt.App")
        mute = _DropMessage("`token` will be unused")
        bolt_logger.addFilter(mute)
        try:
            app = self._new_app(client, secret, socket_mode)
        finally:
            bolt_logger.removeFilter(mute)
        app.use(self._drop_redeliveries)
        app.command("/copy")(self.on_copy)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.action(re.compile(r"^copy_"))(self.on_action)
        app.action(re.compile(r"^experiment_"))(self.on_experiment_action)
        app.error(self._on_listener_error)
        return app

    @staticmethod
    def _new_app(client: WebClient, secret: str, socket_mode: bool) -> App:
        return App(
            name="copyloop",
            client=client,
            signing_secret=secret,
            token_verification_enabled=False,  # no auth.test at start: build offline, fail on first use
            request_verification_enabled=not socket_mode,
            process_before_response=False,  # ack returns the HTTP response; work continues after it
        )

    # middleware -------------------------------------------------------------------------------
    def _drop_redeliveries(self, body: dict[str, Any], request: Any, next: Callable[[], None]) -> BoltResponse | None:
        event_id = body.get("event_id")
        if event_id and not self.ledger.first_time(str(event_id)):
            retry = (request.headers.get("x-slack-retry-num") or ["0"])[0]
            log.info("Slack re-delivered event %s (retry %s); already taken on, ignoring", event_id, retry)
            return BoltResponse(status=200, body="")
        next()
        return None

    def _on_listener_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack listener failed (%s): %s", body.get("type"), type(error).__name__, exc_info=error)

    # listeners (run on Bolt's executor; ack first, model work goes to our own executor) ------
    def on_copy(self, ack: Callable[..., None], command: dict[str, Any]) -> None:
        ack()
        channel, user = command["channel_id"], command.get("user_id", "")
        team = command.get("team_id", "")
        if command.get("text", "").strip().lower() in ("", "help"):
            self._ephemeral(channel, user, USAGE + "\n" + EXPERIMENT_USAGE)
            return
        head, _, rest = command.get("text", "").strip().partition(" ")
        if head.lower() == "experiment":
            self._on_experiment_command(rest, channel, user, team)
            return
        try:
            product, copy_channel = self._parse_request(command.get("text", ""))
        except CopyloopError as exc:
            self._ephemeral(channel, user, f":warning: {exc}\n{USAGE}")
            return
        root = self.client.chat_postMessage(
            channel=channel,
            text=f"<@{user}> asked for `{copy_channel}` copy for *{escape(product.title)}*",
        )
        self._start(Where(channel, root["ts"], team), product, copy_channel)

    def on_mention(self, ack: Callable[..., None], event: dict[str, Any], body: dict[str, Any]) -> None:
        ack()
        team = body.get("team_id") or event.get("team", "")
        where = Where(event["channel"], event.get("thread_ts") or event["ts"], team)
        text = slack_plain_text(event.get("text", ""))
        if event.get("thread_ts") and self.store.exists(where.session_id):
            self._turn(where, parse_turn(text, bare_commands=True), user=event.get("user"))
            return
        try:
            product, copy_channel = self._parse_request(text)
        except CopyloopError as exc:
            self._post(where, f":warning: {exc}\n{USAGE}")
            return
        self._start(where, product, copy_channel)

    def on_message(self, ack: Callable[..., None], event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        ack()
        thread_ts = event.get("thread_ts")
        if event.get("subtype") or event.get("bot_id") or not thread_ts or thread_ts == event.get("ts"):
            return  # edits, joins, bot posts, top-level chatter: not a chat turn
        bot_user = context.bot_user_id
        text = event.get("text", "")
        if bot_user and f"<@{bot_user}" in text:
            return  # the app_mention listener handles it
        where = Where(event["channel"], thread_ts, body.get("team_id") or event.get("team", ""))
        command = slack_plain_text(text).strip().lower()
        if command in EXPERIMENT_COMMANDS:
            experiment_id = self.experiments.find_by_origin(where.session_id)
            if experiment_id is not None:
                self._experiment_op(where, experiment_id, command)
                return
        if not self.store.exists(where.session_id):
            return
        self._turn(where, parse_turn(slack_plain_text(text), bare_commands=True), user=event.get("user"))

    def on_action(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        action_id = action["action_id"]
        value = action.get("value", "")
        session_id, _, index = value.partition("|")
        try:
            _, team, channel, thread_ts = session_id.split(":", 3)
        except ValueError:
            log.warning("Slack action %s with a malformed value", action_id)
            return
        where = Where(channel, thread_ts, "" if team == "-" else team)
        user = (body.get("user") or {}).get("id")
        message_ts = (body.get("message") or body.get("container") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
        if action_id == PICK_ACTION:
            self._turn(where, TurnCommand("pick", index), user=user)
        elif action_id == "copy_accept":
            self._turn(where, TurnCommand("accept"), user=user, message_ts=message_ts)
        elif action_id == "copy_scores":
            self._turn(where, TurnCommand("score"), user=user)
        elif action_id == "copy_regenerate":
            self._turn(where, TurnCommand("regenerate"), user=user)
        elif action_id in BUTTON_REQUESTS:
            self._turn(where, TurnCommand("say", BUTTON_REQUESTS[action_id]), user=user)
        else:
            log.warning("Unknown Slack action %s", action_id)

    # experiments ------------------------------------------------------------------------------
    @property
    def experiments(self) -> ExperimentStore:
        """The experiment store (SQLite under COPYLOOP_HOME, or Postgres), opened on first use."""
        with self._experiments_lock:
            if self._experiments is None:
                self._experiments = ExperimentStore.from_settings(self.settings)
            return self._experiments

    def _on_experiment_command(self, text: str, channel: str, user: str, team: str) -> None:
        if not text.strip() or text.strip().lower() == "help":
            self._ephemeral(channel, user, EXPERIMENT_USAGE)
            return
        try:
            product, copy_channel = self._parse_request(text)
        except CopyloopError as exc:
            self._ephemeral(channel, user, f":warning: {exc}\n{EXPERIMENT_USAGE}")
            return
        root = self.client.chat_postMessage(
            channel=channel,
            text=f"<@{user}> started an A/B experiment on `{copy_channel}` copy for *{escape(product.title)}*",
        )
        where = Where(channel, root["ts"], team)
        placeholder = self._post(where, f":writing_hand: Writing diverse `{copy_channel}` variants for the experiment…")

        def job() -> None:
            exp = Experiment.create(
                product, copy_channel, settings=self.settings, engine=self.store.engine, origin=where.session_id,
                store=self.experiments,
            )
            st = exp.status()
            note = (
                f"Serve the variants: `copyloop experiment assign {exp.experiment_id} --unit <visitor>`; record events with "
                f"`copyloop experiment ingest {exp.experiment_id} events.jsonl`. Reply status, refresh or close here."
            )
            self._replace(where, placeholder, status_text(st), experiment_blocks(st, note=note))

        self._submit(where, job, placeholder)

    def on_experiment_action(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        op = action["action_id"].removeprefix("experiment_")
        experiment_id = action.get("value", "")
        try:
            origin = self.experiments.experiment(experiment_id)["origin"] or ""
        except CopyloopError:
            log.warning("Slack experiment action %s for an unknown experiment", op)
            return
        try:
            _, team, channel, thread_ts = origin.split(":", 3)
        except ValueError:
            container = body.get("container") or {}
            channel = container.get("channel_id", "")
            thread_ts = container.get("thread_ts") or container.get("message_ts", "")
            team = "-"
        if channel and thread_ts:
            self._experiment_op(Where(channel, thread_ts, "" if team == "-" else team), experiment_id, op)

    def _experiment_op(self, where: Where, experiment_id: str, op: str) -> None:
        slow = op == "refresh"
        placeholder = self._post(where, ":writing_hand: Retiring losers and writing fresh variants…") if slow else None

        def job() -> None:
            exp = Experiment.open(experiment_id, self.settings, store=self.experiments)
            note = None
            if op == "refresh":
                note = exp.refresh(engine=self.store.engine).reason
            elif op == "close":
                report = exp.close()
                note = (
                    (f"Closed. Winner {report.winner} is served from now on and was added to the retrieval store. "
                     if report.winner else "Closed without a winner; the control (or first variant) is served. ")
                    + f"A/B log: {report.ab_log_path} ({report.exported_rows} rows) — retrain with `{report.retrain_command}`."
                )
            st = exp.status()
            self._replace(where, placeholder, status_text(st), experiment_blocks(st, note=note))

        self._submit(where, job, placeholder)

    def poll_experiments(self) -> int:
        """Post news of Slack-started experiments in their threads (winner, guardrail, SRM, fatigue), once each."""
        posted = 0
        for experiment_id in self.experiments.experiment_ids("running"):
            try:
                exp = Experiment.open(experiment_id, self.settings, store=self.experiments)
                if not (exp.origin or "").startswith("slack:"):
                    continue
                st = exp.status()
            except Exception:  # one broken experiment must not stop the others' news
                log.exception("Could not check experiment %s", experiment_id)
                continue
            news = []
            if st.decision in ("winner", "guardrail", "srm"):
                news.append((f"{st.decision}:{st.winner or st.leader}", st.reason))
            if st.fatigue is not None and st.fatigue.fatigued:
                news.append((f"fatigue:{st.fatigue.variant_id}", f"{st.fatigue.variant_id} is wearing out: {st.fatigue.reason}. "
                             "Press refresh to retire losers and add fresh variants."))
            _, team, channel, thread_ts = (exp.origin or "").split(":", 3)
            where = Where(channel, thread_ts, "" if team == "-" else team)
            for key, note in news:
                if self.ledger.first_time(f"experiment:{experiment_id}:{key}"):
                    self._post(where, status_text(st), experiment_blocks(st, note=note))
                    posted += 1
        return posted

    def watch_experiments(self, interval: float | None = None) -> None:
        """Poll experiments every ``interval`` seconds (``slack.experiment_poll_seconds``; 0 = off) in a daemon thread."""
        seconds = self.settings.slack.experiment_poll_seconds if interval is None else interval
        if seconds <= 0 or self._watcher is not None:
            return

        def loop() -> None:
            while not self._stop_watch.wait(seconds):
                try:
                    self.poll_experiments()
                except Exception:
                    log.exception("Polling experiments failed")

        self._watcher = threading.Thread(target=loop, name="copyloop-experiment-watch", daemon=True)
        self._watcher.start()

    # request handling -------------------------------------------------------------------------
    def _parse_request(self, text: str) -> tuple[ProductBrief, str]:
        spec, channel = split_channel(slack_plain_text(text), self.store.channel_names())
        return parse_product(spec, self.catalog), channel or DEFAULT_CHANNEL

    def _start(self, where: Where, product: ProductBrief, channel: str) -> None:
        placeholder = self._post(where, f":writing_hand: Writing `{channel}` copy for *{escape(product.title)}*…")

        def job() -> None:
            session = self.store.start(product, channel, thread_id=where.session_id)
            self._show_draft(where, placeholder, session.current, session.thread_id, note=None)

        self._submit(where, job, placeholder)

    def _turn(self, where: Where, cmd: TurnCommand, *, user: str | None = None, message_ts: str | None = None) -> None:
        if cmd.op in ("quit", "history", "help"):
            self._post(where, "Reply with a request (\"shorter\", \"mention the warranty\") or one of: accept, undo, "
                       "score, regenerate, variants [n], pick N, channel NAME.")
            return
        slow = cmd.op in ("say", "variants", "channel", "regenerate")
        label = {"say": f"Revising: _{escape(cmd.arg)}_", "variants": "Writing variants", "channel": f"Rewriting for `{cmd.arg}`",
                 "regenerate": "Writing a fresh draft"}.get(cmd.op, "")
        placeholder = self._post(where, f":writing_hand: {label}…") if slow else None

        def job() -> None:
            session = self.store.resume(where.session_id)
            self._run_command(session, where, cmd, placeholder, user=user, message_ts=message_ts)

        self._submit(where, job, placeholder)

    def _run_command(
        self, session: Session, where: Where, cmd: TurnCommand, placeholder: str | None, *, user: str | None, message_ts: str | None
    ) -> None:
        sid = session.thread_id
        if cmd.op == "say":
            reply = session.say(cmd.arg)
            note = None if reply.changed else "Kept the current draft: " + "; ".join(reply.reasons)
            self._show_draft(where, placeholder, reply.draft, sid, note=note)
        elif cmd.op in ("regenerate", "channel"):
            reply = session.regenerate() if cmd.op == "regenerate" else session.switch_channel(cmd.arg)
            note = None if reply.changed else "Kept the current draft: " + "; ".join(reply.reasons)
            self._show_draft(where, placeholder, reply.draft, sid, note=note)
        elif cmd.op == "undo":
            version = session.undo()
            self._show_draft(where, None, version, sid, note=f"Back to v{version.index}")
        elif cmd.op == "pick":
            version = session.pick(cmd.count())
            self._show_draft(where, None, version, sid, note=f"Using v{version.index}")
        elif cmd.op == "accept":
            version = session.accept()
            if message_ts:
                self.client.chat_update(channel=where.channel, ts=message_ts, text=version.text, blocks=accepted_blocks(version, user))
            else:
                self._post(where, version.text, accepted_blocks(version, user))
        elif cmd.op == "score":
            card = session.score()
            self._post(where, f"Score {card.score:.2f}", scores_blocks(card))
        elif cmd.op == "variants":
            variants = session.variants(cmd.count())
            head = f"{len(variants)} variant(s) that pass every rule — pick one:" if variants else "No variant passed the rules; kept the current draft."
            self._replace(where, placeholder, head, note_blocks(head))
            for number, version in enumerate(variants, 1):
                self._post(where, version.text, variant_blocks(version, sid, number))

    def _show_draft(self, where: Where, placeholder: str | None, version: Version, session_id: str, *, note: str | None) -> None:
        self._replace(where, placeholder, version.text, draft_blocks(version, session_id, note=note))

    # worker and errors (the surface: errors become Slack messages here) -----------------------
    def _submit(self, where: Where, job: Callable[[], None], placeholder: str | None) -> None:
        def run() -> None:
            try:
                job()
            except RuleRefusal as exc:
                self._safe_replace(where, placeholder, ":no_entry: I can't do that: " + "; ".join(exc.reasons))
            except InputError as exc:
                log.info("Slack request rejected: %s", exc)
                self._safe_replace(where, placeholder, f":warning: {exc}")
            except CopyloopError as exc:
                log.exception("Slack request failed in session %s", where.session_id)
                self._safe_replace(where, placeholder, f":disappointed: Sorry — I couldn't do that: {exc}")
            except Exception:  # the surface: anything else becomes an apology, never a silent dead thread
                log.exception("Slack request crashed in session %s", where.session_id)
                self._safe_replace(where, placeholder, ":disappointed: Sorry — something went wrong on my side. It has been logged.")

        future = self.executor.submit(run)
        with self._futures_lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._futures_lock:
            self._futures.discard(future)

    def _safe_replace(self, where: Where, placeholder: str | None, text: str) -> None:
        try:
            self._replace(where, placeholder, text, note_blocks(text))
        except Exception:  # Slack itself is failing; nothing left to tell the user through
            log.exception("Could not post the error message to Slack")

    # Slack Web API helpers --------------------------------------------------------------------
    def _post(self, where: Where, text: str, blocks: list[dict[str, Any]] | None = None) -> str:
        kwargs: dict[str, Any] = {"channel": where.channel, "thread_ts": where.thread_ts, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        return str(self.client.chat_postMessage(**kwargs)["ts"])

    def _replace(self, where: Where, ts: str | None, text: str, blocks: list[dict[str, Any]]) -> None:
        if ts is None:
            self._post(where, text, blocks)
        else:
            self.client.chat_update(channel=where.channel, ts=ts, text=text, blocks=blocks)

    def _ephemeral(self, channel: str, user: str, text: str) -> None:
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text)
        except Exception:
            log.exception("Could not send an ephemeral message")

    # lifecycle --------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load the models on the worker now, so the first ``/copy`` does not pay for it.

        Queued like any request: the server answers (and acks) at once, and work that arrives
        meanwhile simply waits its turn behind the load.
        """

        def load() -> None:
            engine = self.store.engine
            if hasattr(engine, "load"):
                engine.load()

        def run() -> None:
            try:
                load()
            except Exception:  # a broken model path etc.: requests will report it to the user
                log.exception("Warming up the engine failed")

        future = self.executor.submit(run)
        with self._futures_lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until queued model work is done (tests, graceful shutdown); True if all finished."""
        while True:
            with self._futures_lock:
                pending = set(self._futures)
            if not pending:
                return True
            done, not_done = wait(pending, timeout=timeout)
            if not_done:
                return False

    def close(self) -> None:
        self._stop_watch.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)
        self.executor.shutdown(wait=True)
        self.ledger.close()
        self.store.close()
        if self._experiments is not None:
            self._experiments.close()


def build_bot(
    settings: Settings,
    engine_factory: EngineFactory | None = None,
    *,
    engine: Any = None,
    client: WebClient | None = None,
    store: SessionStore | None = None,
    socket_mode: bool = False,
) -> CopyBot:
    """The bot with its Bolt app; nothing touches the network or loads a model until a request."""
    return CopyBot(settings, engine=engine, engine_factory=engine_factory, client=client, store=store, socket_mode=socket_mode)


def build_app(
    settings: Settings,
    engine_factory: EngineFactory | None = None,
    *,
    engine: Any = None,
    client: WebClient | None = None,
    socket_mode: bool = False,
) -> App:
    """The Bolt App (see the module docstring); ``build_bot`` when you need drain()/close()."""
    return build_bot(settings, engine_factory, engine=engine, client=client, socket_mode=socket_mode).app


# servers --------------------------------------------------------------------------------------


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """One thread per request: a slow Web API call while acking never blocks other requests."""

    daemon_threads = True


class _LoggingHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s - %s", self.address_string(), format % args)


def make_http_server(app: App, host: str = "127.0.0.1", port: int = 3000) -> WSGIServer:
    """A threaded WSGI server: POST /slack/events (commands, events, interactions), GET /healthz."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    handler = SlackRequestHandler(app, path=EVENTS_PATH)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return handler(environ, start_response)

    return make_server(host, port, wsgi, server_class=_ThreadingWSGIServer, handler_class=_LoggingHandler)


def socket_mode_handler(bot: CopyBot) -> Any:
    """Bolt's Socket Mode handler for the bot (SLACK_APP_TOKEN; Web API calls keep SLACK_API_URL)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    token = bot.settings.slack.app_token
    if token is None:
        raise InputError("SLACK_APP_TOKEN is not set (the xapp- app-level token Socket Mode needs)", field="SLACK_APP_TOKEN")
    return SocketModeHandler(bot.app, app_token=token.get_secret_value(), web_client=bot.client)


def run_socket_mode(bot: CopyBot) -> None:
    """Connect over Socket Mode and serve until interrupted."""
    socket_mode_handler(bot).start()


__all__ = ["EVENTS_PATH", "CopyBot", "Where", "build_app", "build_bot", "make_http_server", "run_socket_mode", "socket_mode_handler"]
