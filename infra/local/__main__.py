"""``python -m infra.local`` (``make dev``): the whole Pollen stack on this machine, on moto.

Starts moto's server, creates the template's table and queues on it, seeds the demo store, then
serves the HTTP API and runs the stream/queue pollers and the scheduler until SIGINT or SIGTERM.

Environment:
  PORT                      API port (default 3000; 0 picks a free one)
  MOTO_PORT                 moto server port (default 0: a free one)
  POLLEN_STATE_DIR          where state.json (the saved data), demo-store.json (the demo store's
                            keys) and stack.json are written (default .pollen)
  POLLEN_LOCAL_RESET        1 (or the --reset flag, `make dev-reset`) to delete the saved state and
                            start clean with a new demo store (default 0: resume)
  POLLEN_LOCAL_PERSIST      0 to neither load nor save state.json (default 1)
  POLLEN_TEMPLATE           the SAM template (default template.yaml at the repository root)
  POLLEN_LOCAL_SEED         0 to start with an empty table (default 1)
  POLLEN_DEMO_TIERS         0 to seed the demo store without its VIP tiers (default 1)
  POLLEN_LOCAL_TIME_SCALE   divide rate() schedules by this (default 1)
  POLLEN_LOCAL_RETRY_SCALE  multiply integration delivery retry delays by this (default 0.0333: the
                            5 retries of 60, 120, 240, 480 and 900 s play out in about a minute;
                            1 waits as on AWS, 0 retries at once)
  POLLEN_LOCAL_CONFIG_TTL   seconds a function keeps a merchant's config cached (default 2, so a new
                            subscription applies at once; the template's 30 s on AWS)
  POLLEN_LOCAL_CONCURRENCY  containers per function (default 4)
  POLLEN_LOCAL_READ_TIMEOUT seconds the HTTP server waits for a request's next bytes before it
                            answers 408 (default 10)
  POLLEN_LOCAL_METRICS      1 to let Powertools print its EMF metrics (default 0)
  POLLEN_LOCAL_LOG_LEVEL    level of the local stack's own logs (default INFO)
"""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from moto.server import ThreadedMotoServer

from infra.aws_resources import LocalResources, create_resources
from infra.local import LocalRuntime
from infra.local.clock import LocalClock
from infra.local.demo_store import DemoStorefront
from infra.local.fake_services import FakeMarketing
from infra.local.pollers import Pollers
from infra.local.scheduler import Scheduler
from infra.local.server import CorsConfig, LocalApi, LocalHttpServer
from infra.local.state import Autosave, LocalState, Restored
from infra.local.static import StaticSite
from infra.template import FunctionSpec, describe_functions, global_function_env, load_template

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
REGION = "us-east-1"
STACK = "pollen-local"
LOCAL_PARAMETERS = {"Stage": "local"}
DEFAULT_RETRY_SCALE = 1 / 30  # a whole retry budget (about 30 minutes on AWS) in about a minute

log = logging.getLogger("pollen.local")


@dataclass(frozen=True)
class Settings:
    port: int
    moto_port: int
    state_dir: Path
    template: Path
    seed: bool
    time_scale: float
    retry_scale: float
    config_ttl: int
    concurrency: int
    metrics: bool
    log_level: str
    reset: bool = False
    persist: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            port=int(env.get("PORT", "3000")),
            moto_port=int(env.get("MOTO_PORT", "0")),
            state_dir=Path(env.get("POLLEN_STATE_DIR", ".pollen")),
            template=Path(env.get("POLLEN_TEMPLATE", str(ROOT / "template.yaml"))),
            seed=env.get("POLLEN_LOCAL_SEED", "1") != "0",
            time_scale=float(env.get("POLLEN_LOCAL_TIME_SCALE", "1")),
            retry_scale=float(env.get("POLLEN_LOCAL_RETRY_SCALE", str(DEFAULT_RETRY_SCALE))),
            config_ttl=int(env.get("POLLEN_LOCAL_CONFIG_TTL", "2")),
            concurrency=int(env.get("POLLEN_LOCAL_CONCURRENCY", "4")),
            metrics=env.get("POLLEN_LOCAL_METRICS", "0") == "1",
            log_level=env.get("POLLEN_LOCAL_LOG_LEVEL", "INFO").upper(),
            reset=env.get("POLLEN_LOCAL_RESET", "0") == "1" or "--reset" in sys.argv[1:],
            persist=env.get("POLLEN_LOCAL_PERSIST", "1") != "0",
        )


def local_aws_env(
    endpoint_url: str, *, metrics: bool, retry_scale: float = DEFAULT_RETRY_SCALE, config_ttl: int = 2
) -> dict[str, str]:
    """What every function and the seed see, whatever the template says: AWS is moto, retry delays
    are scaled down and config changes apply within seconds."""
    return {
        "DELIVERY_RETRY_SCALE": f"{retry_scale:.6f}",
        # moto shares this process with every function: on a busy machine an answer can take
        # seconds, and a timed-out write retried by botocore would be refused as a conflict.
        "POLLEN_AWS_READ_TIMEOUT_SECONDS": "30",
        "CONFIG_CACHE_TTL_SECONDS": str(config_ttl),
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "false" if metrics else "true",
    }


def shared_env(
    template: dict[str, Any], functions: list[FunctionSpec], resources: LocalResources
) -> dict[str, str]:
    """Globals plus every function variable all functions agree on, for the process environment.

    Code outside an invocation (the seed, threads a function starts, process-wide caches filled
    on first use) reads the process environment, so it gets every unambiguous variable; where
    functions disagree (``POWERTOOLS_SERVICE_NAME``) the Globals value stays.
    """
    resolver = resources.resolver(template, parameters=LOCAL_PARAMETERS, stack_name=STACK)
    env = global_function_env(template, resolver)
    seen: dict[str, set[str]] = {}
    for spec in functions:
        for name, value in spec.env.items():
            seen.setdefault(name, set()).add(value)
    env.update({name: values.pop() for name, values in seen.items() if len(values) == 1})
    return env


class LocalStack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.moto: ThreadedMotoServer | None = None
        self.server: LocalHttpServer | None = None
        self.pollers: Pollers | None = None
        self.scheduler: Scheduler | None = None
        self.clock = LocalClock()
        self.state: LocalState | None = None
        self.autosave: Autosave | None = None
        self.restored: Restored | None = None

    def health(self) -> dict[str, Any]:
        """The local section of ``/v1/health``: pollers, clock and saved state."""
        pollers = self.pollers.status() if self.pollers else []
        saved = self.state.path if self.state else None
        return {
            "healthy": all(poller["state"] == "ok" for poller in pollers),
            "pollers": pollers,
            "clock": self.clock.status(),
            "state": {
                "file": str(saved) if saved else None,
                "resumed": self.restored is not None,
                "saves": self.autosave.saves if self.autosave else 0,
            },
        }

    def start(self) -> None:
        settings = self.settings
        if settings.moto_port:
            _ensure_free(settings.moto_port)  # moto's thread would otherwise fail silently and hang start()
        self.moto = ThreadedMotoServer(ip_address=HOST, port=settings.moto_port, verbose=False)
        self.moto.start()
        moto_host, moto_port = self.moto.get_host_and_port()
        moto_url = f"http://{moto_host}:{moto_port}"
        _make_moto_writes_atomic()
        forced = local_aws_env(
            moto_url,
            metrics=settings.metrics,
            retry_scale=settings.retry_scale,
            config_ttl=settings.config_ttl,
        )
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(forced)

        template = load_template(settings.template)
        resources = create_resources(template, prefix=STACK, region=REGION, parameters=LOCAL_PARAMETERS)
        self._load_state(resources)
        resolver = resources.resolver(template, parameters=LOCAL_PARAMETERS, stack_name=STACK)
        functions = describe_functions(template, resolver)
        os.environ.update(shared_env(template, functions, resources))
        os.environ.update(forced)

        runtime = LocalRuntime(
            functions,
            forced_env=forced,
            region=REGION,
            account_id=resources.account_id,
            max_containers=settings.concurrency,
        )
        for logical_id, error in runtime.preload().items():
            log.error("%s could not be imported; it will be retried on use", logical_id, exc_info=error)
        # Klaviyo and Omnisend answered by local fakes (infra/local/fake_services.py): no internet here
        from pollen.services.container import container  # noqa: PLC0415 - after the environment is set

        container().http.install(FakeMarketing())

        self.scheduler = Scheduler(
            functions,
            runtime.invoke,
            time_scale=settings.time_scale,
            region=REGION,
            account_id=resources.account_id,
            stack_name=STACK,
        )

        def openapi_documents() -> list[dict[str, Any]]:
            documents = []
            for spec in functions:
                resolver_app = getattr(runtime.module(spec), "app", None) if spec.http_routes else None
                if resolver_app is not None and hasattr(resolver_app, "get_openapi_json_schema"):
                    documents.append(json.loads(resolver_app.get_openapi_json_schema()))
            return documents

        api = LocalApi(
            functions,
            runtime.invoke,
            openapi_source=openapi_documents,
            trigger_schedule=self.scheduler.trigger,
            schedules=[(*job.key, job.source.expression) for job in self.scheduler.jobs.values()],
            clock=self.clock,
            health=self.health,
            cors=CorsConfig.from_template(template, resolver),
            account_id=resources.account_id,
            static=StaticSite("/dashboard", ROOT / "web" / "dashboard" / "dist"),
            demo_store=DemoStorefront(settings.state_dir, ROOT / "web" / "widget" / "dist"),
        )
        self.server = LocalHttpServer((HOST, settings.port), api)
        self.server.start()
        base_url = f"http://{HOST}:{self.server.port}"

        demo = self._demo_store(base_url)

        queue_urls = {queue.arn: queue.url for queue in resources.queues.values()}
        pollers = Pollers(functions, runtime.invoke, region=REGION, queue_urls=queue_urls)
        if self.restored is not None:
            pollers.resume_from(self.restored.checkpoints)
        pollers.start()
        self.pollers = pollers  # reported by /v1/health once running
        self.scheduler.start()
        if self.state is not None:
            self.autosave = _autosave(self.state, resources, pollers, self.clock)
            self.clock.on_change = self.autosave.save_now
            self.autosave.save_now()
            self.autosave.start()

        stack_file = settings.state_dir / "stack.json"
        _write_atomically(
            stack_file,
            json.dumps(
                {"base_url": base_url, "moto_endpoint": moto_url, "pid": os.getpid(), **resources.to_json()},
                indent=2,
            )
            + "\n",
        )
        _print_banner(base_url, moto_url, resources, demo, settings.state_dir)
        print(_state_line(self.restored, self.state, self.clock), flush=True)
        print(f"Pollen is up on {base_url}", flush=True)

    def stop(self) -> None:
        steps = (self._stop_server, self._stop_pollers, self._stop_scheduler, self._save, self._stop_moto)
        for step in steps:
            try:
                step()
            except Exception:
                log.exception("error while stopping")
        (self.settings.state_dir / "stack.json").unlink(missing_ok=True)

    def _stop_server(self) -> None:
        if self.server:
            self.server.stop()

    def _stop_pollers(self) -> None:
        if self.pollers:
            self.pollers.stop()

    def _stop_scheduler(self) -> None:
        if self.scheduler:
            self.scheduler.stop()

    def _demo_store(self, base_url: str) -> dict[str, Any] | None:
        """The resumed demo store's keys, or a newly seeded store."""
        demo_file = self.settings.state_dir / "demo-store.json"
        if self.restored is not None:
            return json.loads(demo_file.read_text()) if demo_file.exists() else None
        return _seed(base_url, self.settings.state_dir) if self.settings.seed else None

    def _load_state(self, resources: LocalResources) -> None:
        """Resume from the saved state (unless reset or not persisted), before anything runs."""
        settings = self.settings
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        if settings.reset:
            for name in ("state.json", "demo-store.json"):
                (settings.state_dir / name).unlink(missing_ok=True)
        if settings.persist:
            self.state = LocalState(settings.state_dir / "state.json", resources)
            snapshot = self.state.load()
            if snapshot is not None:
                self.restored = self.state.restore(snapshot)
                self.clock.restore(self.restored.clock_offset_seconds)

    def _save(self) -> None:
        if self.autosave:
            self.autosave.stop()
            print(f"Saved the local state to {self.autosave.state.path}", flush=True)

    def _stop_moto(self) -> None:
        if self.moto:
            self.moto.stop()


def _autosave(state: LocalState, resources: LocalResources, pollers: Pollers, clock: LocalClock) -> Autosave:
    readers: dict[str, list[str]] = {}
    for poller in pollers.threads:
        arn = getattr(getattr(poller, "source", None), "stream_arn", None)
        for logical_id, table in resources.tables.items():
            if arn and table.stream_arn == arn:
                readers.setdefault(logical_id, []).append(poller.name)

    def snapshot() -> dict[str, Any]:
        return state.capture(pollers.checkpoints(), readers, clock.offset.total_seconds())

    def fingerprint() -> Any:
        return json.dumps(pollers.checkpoints(), sort_keys=True), clock.offset

    return Autosave(state, snapshot, fingerprint=fingerprint)


def _state_line(restored: Restored | None, state: LocalState | None, clock: LocalClock) -> str:
    moved = f"; the clock is {clock.status()['offset']} ahead" if clock.offset.total_seconds() else ""
    if state is None:
        return "State: not saved (POLLEN_LOCAL_PERSIST=0); every start is a new demo store"
    if restored is None:
        return f"State: new demo store; saved to {state.path} as it changes (make dev-reset starts clean)"
    return (
        f"State: resumed from {state.path} (saved {restored.saved_at}: {restored.items} items, "
        f"{restored.messages} queued messages){moved}; make dev-reset starts clean"
    )


def _ensure_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise OSError(f"MOTO_PORT {port} is already in use on {HOST}") from exc


def _make_moto_writes_atomic() -> None:
    try:
        from infra.moto_atomic import (  # noqa: PLC0415 - optional helper
            make_dynamodb_writes_atomic,
            make_sqs_receive_linear,
        )
        from infra.moto_fast import make_moto_responses_fast  # noqa: PLC0415 - optional helper
    except ImportError:
        return
    make_dynamodb_writes_atomic()
    make_sqs_receive_linear()
    make_moto_responses_fast()


def _seed(base_url: str, state_dir: Path) -> dict[str, Any]:
    from infra.seed import seed_demo_store  # noqa: PLC0415 - imports the pollen package, after env is set

    store = seed_demo_store(base_url, tiers=os.environ.get("POLLEN_DEMO_TIERS", "1") != "0")
    _write_atomically(state_dir / "demo-store.json", store.model_dump_json(indent=2) + "\n")
    demo: dict[str, Any] = store.model_dump(mode="json")
    return demo


def _write_atomically(path: Path, text: str) -> None:
    """Readers polling for the file never see it half written."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    partial.replace(path)


def _print_banner(
    base_url: str, moto_url: str, resources: LocalResources, demo: dict[str, Any] | None, state_dir: Path
) -> None:
    lines = [
        "",
        "Pollen local stack",
        f"  API             {base_url}",
        f"  Docs            {base_url}/docs   (OpenAPI: {base_url}/openapi.json)",
        f"  Dashboard       {base_url}/dashboard",
        f"  Demo store      {base_url}/demo-store   (guest: {base_url}/demo-store/guest)",
    ]
    if demo:
        keys, shopify = demo.get("api_keys", {}), demo.get("shopify", {})
        lines += [
            f"  Merchant        {demo.get('merchant_id')}",
            f"  App key         {keys.get('public')}   (apps: plus a customer token)",
            f"  Read key        {keys.get('read')}",
            f"  Write key       {keys.get('write')}",
            f"  Admin key       {keys.get('admin')}",
            f"  Shop domain     {shopify.get('shop_domain')}",
            f"  Webhook secret  {shopify.get('webhook_secret')}",
            f"  Saved to        {state_dir / 'demo-store.json'}",
        ]
    lines.append(f"  AWS (moto)      {moto_url}")
    for table in resources.tables.values():
        lines.append(f"    aws --endpoint-url {moto_url} dynamodb scan --table-name {table.name}")
    for queue in resources.queues.values():
        lines.append(f"    queue {queue.name}: {queue.url}")
    lines.append("")
    print("\n".join(lines), flush=True)


def main() -> int:
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    settings = Settings.from_env()
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("werkzeug", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():  # a second Ctrl-C while stopping (or starting): leave now
            os._exit(130)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    # `kill -USR1 <pid>` prints every thread's stack to the log: what a stack that will not stop is doing
    faulthandler.register(signal.SIGUSR1, all_threads=True)

    stack = LocalStack(settings)
    try:
        stack.start()
    except Exception as exc:
        log.error("the local stack could not start: %s", exc, exc_info=not isinstance(exc, OSError))
        stack.stop()
        return 1
    # Wait in short steps: the handler runs in this thread between two bytecodes, and should that fall
    # inside Event.wait() before it registered as a waiter, its set() would wake nobody (a lost
    # wakeup: seen as a stack that ignored Ctrl-C under load). A timeout re-reads the flag.
    while not stop.wait(0.25):
        pass
    print("Stopping Pollen...", flush=True)
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
