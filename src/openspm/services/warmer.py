"""Keeps the analytics caches warm in a long-running process (the web server): the first viewer after
an import should not be the one who waits for the engines (10–20 s at demo scale 10).

A daemon thread reads the data version every `interval` seconds (one cheap query) and, when it differs
from the one it last warmed, runs `services.kpis.warm_cache` (the dashboards' quarters, every level)
and inspects today's open deals (`services.inspections`). A request that arrives meanwhile waits on
the cache's lock and then finds the result, exactly as it would have computed it.
"""

from __future__ import annotations

import logging
import threading
from datetime import date

from sqlalchemy import Engine

from openspm.domain.sales_process import SalesProcess
from openspm.services import inspections, kpis

log = logging.getLogger(__name__)


class CacheWarmer:
    def __init__(
        self, engine: Engine, interval: float, as_of: date | None = None, process: SalesProcess | None = None
    ) -> None:
        self.engine = engine
        self.interval = interval
        self.process = process  # the sales process the inspection pages use
        self.as_of = as_of  # the day dashboards are seen as of (default: today, each time)
        self.warmed: tuple[object, ...] | None = None  # the data version last warmed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cache-warmer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def check(self) -> bool:
        """Warm the cache if the data changed since the last warm-up; whether it did."""
        with self.engine.connect() as conn:
            version = kpis.data_version(conn)
        if version == self.warmed:
            return False
        day = self.as_of or date.today()  # noqa: DTZ011 - the day pages default to (web.security)
        periods = kpis.warm_cache(self.engine, as_of=day)
        inspections.inspect_deals(self.engine, as_of=day, process=self.process)
        self.warmed = version
        log.info("KPIs and inspection warmed for %s (data version %s)", ", ".join(periods), version)
        return True

    def _run(self) -> None:
        last_error = ""
        while not self._stop.is_set():
            try:
                self.check()
                last_error = ""
            except Exception as exc:  # a store that is not migrated yet, a bad row: log, try again later
                if str(exc) != last_error:  # once per distinct failure, not every `interval`
                    log.exception("warming the analytics caches failed; pages will compute on request")
                last_error = str(exc)
            self._stop.wait(self.interval)
