"""uvicorn's access log line, written for less: the same text, without a LogRecord and a formatter per request.

uvicorn logs each answered request through `logging.getLogger("uvicorn.access").info(...)`: a LogRecord, a copy of
it, uvicorn's `AccessFormatter`, the handler's lock and a flush — about a fifth of the event loop's time per Events
API request under load (docs/benchmarks.md). `fast_access_logger` gives the HTTP protocol (`bounded_http.py`) an
object with the same `info` that writes the very line `AccessFormatter` makes
(`INFO:     127.0.0.1:50312 - "POST /v2/enqueue HTTP/1.1" 202 Accepted`) straight to the handler's stream, and
flushes it, as `StreamHandler` does. It does so only while the logger is configured as uvicorn configures it (one
`StreamHandler`, uvicorn's format, no colours, no filters, not propagating); anything else — colours on a
terminal, a log config of one's own, a test capturing logs, a logger turned off — goes through the logger as before.
"""

from __future__ import annotations

import http
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter

_MESSAGE = '%s - "%s %s HTTP/%s" %d'  # what uvicorn's HTTP protocols pass to `info`
_FORMAT = LOGGING_CONFIG["formatters"]["access"]["fmt"]
_PREFIX = "INFO:     "  # `%(levelprefix)s `: the level, a colon, padded to 9, and the format's space


def _status(code: int) -> str:
    """`AccessFormatter.get_status_code` without colours: the code and its phrase (none for a code it does not know)."""
    try:
        return f"{code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} "


_STATUS = {code: _status(code) for code in range(100, 600)}


class FastAccessLogger:
    """`info` as uvicorn's access logger has it, for the configuration checked by `fast_access_logger`."""

    def __init__(self, logger: logging.Logger, handler: logging.StreamHandler) -> None:
        self.logger = logger
        self._handler = handler

    def info(self, msg: str, *args: Any) -> None:
        if msg != _MESSAGE or not self.logger.isEnabledFor(logging.INFO) or not _as_uvicorn_configures(self.logger):
            self.logger.info(msg, *args)
            return
        client, method, path, version, code = args
        status = _STATUS.get(code) or _status(int(code))
        line = f'{_PREFIX}{client} - "{method} {path} HTTP/{version}" {status}\n'
        handler = self._handler
        handler.acquire()
        try:
            stream = handler.stream
            stream.write(line)
            stream.flush()
        except Exception:  # what StreamHandler.emit does with a stream that fails
            handler.handleError(self.logger.makeRecord(self.logger.name, logging.INFO, "", 0, msg, args, None))
        finally:
            handler.release()


def _as_uvicorn_configures(logger: logging.Logger) -> bool:
    if logger.disabled or logger.propagate or logger.filters or len(logger.handlers) != 1:
        return False
    handler = logger.handlers[0]
    formatter = handler.formatter
    return (type(handler) is logging.StreamHandler and not handler.filters and handler.level <= logging.INFO
            and handler.terminator == "\n" and type(formatter) is AccessFormatter and not formatter.use_colors
            and formatter._fmt == _FORMAT and formatter._style.__class__ is logging.PercentStyle)


def fast_access_logger(logger: logging.Logger) -> logging.Logger | FastAccessLogger:
    """What the HTTP protocol should log each request through: `logger` itself, or the same line for less."""
    if not _as_uvicorn_configures(logger):
        return logger
    return FastAccessLogger(logger, logger.handlers[0])  # type: ignore[arg-type]
