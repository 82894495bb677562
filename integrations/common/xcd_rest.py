# HTTP client of the xen-compute-driver REST API, shared by the orchestrator integrations.
# Owns: requests with bearer auth and the TLS policy, problem+json decoding, waiting for operations.
# Must not: know any orchestrator, nor anything of XAPI beyond the REST contract. Python 3 stdlib only.
# The one copy in the tree: each integration's install step puts it beside the code that imports
# `xcd_rest` (Nova: into the installed xcd_nova package; CloudStack, OpenNebula: next to the programs).

import http.client
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

MAX_WAIT_PER_CALL = 300  # the contract's ceiling for `Prefer: wait=N`
NOT_READY_PATIENCE = 60  # seconds a call waits out `503 not_ready` (a service starting up)
PROGRESS_EVERY = 5  # seconds between the reports of run(progress=...)


class ServiceError(Exception):
    """A refusal of the service (problem+json) or a failure to reach it.

    `status` is the HTTP status (0 when the service could not be reached), `code` the contract's
    stable error code ('unreachable' and 'bad_response' are this client's own), `problem` the
    decoded problem document when there is one.
    """

    def __init__(self, status, code, detail, problem=None):
        super().__init__('%s (%s): %s' % (code, status, detail))
        self.status = status
        self.code = code
        self.detail = detail
        self.problem = problem or {}


class Client:
    def __init__(self, url, token, ca_file=None, verify=True, timeout=30.0,
                 user_agent='xcd-integration'):
        if not url:
            raise ValueError('the service URL is not configured')
        self.base = url.rstrip('/')
        self.token = token
        self.timeout = timeout
        self.user_agent = user_agent
        self._ssl = None
        if self.base.startswith('https:'):
            if not verify:
                self._ssl = ssl._create_unverified_context()
            else:
                self._ssl = ssl.create_default_context(cafile=ca_file or None)

    @staticmethod
    def path(*segments):
        """Build a path from segments, each percent-encoded whole (no '/' may sneak in)."""
        return '/' + '/'.join(urllib.parse.quote(str(s), safe='') for s in segments)

    def request(self, method, path, body=None, query=None, wait=None):
        """One HTTP exchange. Returns (status, decoded JSON or None); raises ServiceError."""
        resp = self._open(method, path, body, query, wait)
        try:
            with resp:
                raw = resp.read()
        except OSError as err:
            raise ServiceError(0, 'unreachable', '%s: %s' % (self.base, err)) from None
        return resp.status, _decode(raw, resp.status)

    def download(self, path, query=None):
        """Opens a GET whose answer is bytes (an image or disk export): the response object,
        to read and close; raises ServiceError as request() does."""
        return self._open('GET', path, None, query, None,
                          accept='application/octet-stream, application/problem+json')

    def _open(self, method, path, body, query, wait,
              accept='application/json, application/problem+json'):
        url = self.base + path
        if query:
            url += '?' + urllib.parse.urlencode(
                {k: _query_value(v) for k, v in query.items() if v is not None})
        data = None
        headers = {'Accept': accept, 'User-Agent': self.user_agent}
        if self.token:
            headers['Authorization'] = 'Bearer ' + self.token
        if body is not None:
            data = json.dumps(body).encode('utf-8')
            headers['Content-Type'] = 'application/json'
        timeout = self.timeout
        if wait is not None:
            wait = max(0, min(int(wait), MAX_WAIT_PER_CALL))
            headers['Prefer'] = 'wait=%d' % wait
            timeout = self.timeout + wait
        # A service still starting answers 503 not_ready before it has done anything with the
        # request, so the same request is sent again after its Retry-After, for a while.
        give_up = time.monotonic() + NOT_READY_PATIENCE
        while True:
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                return urllib.request.urlopen(req, timeout=timeout, context=self._ssl)
            except urllib.error.HTTPError as err:
                problem = _problem(err.code, err.read(), err.reason)
                pause = _retry_after(err.headers.get('Retry-After'))
                if problem.code != 'not_ready' or time.monotonic() + pause > give_up:
                    raise problem from None
                time.sleep(pause)
            except (urllib.error.URLError, OSError) as err:
                reason = getattr(err, 'reason', err)
                raise ServiceError(0, 'unreachable', '%s: %s' % (self.base, reason)) from None

    def get(self, path, query=None):
        return self.request('GET', path, query=query)[1]

    def run(self, method, path, body=None, query=None, timeout=600.0, progress=None):
        """Start a mutating call and wait for its operation to end.

        Returns the final Operation when it succeeded, None when the service answered 204 (nothing
        to do). A failed or cancelled operation raises ServiceError with the operation's error
        code; an operation still running at `timeout` raises ServiceError code 'timeout'.
        `progress`, when given, is called with the running Operation every PROGRESS_EVERY s.
        """
        deadline = time.monotonic() + timeout
        status, op = self.request(method, path, body=body, query=query,
                                  wait=_wait(deadline, progress))
        return self._final(status, op, deadline, timeout, progress)

    def upload(self, path, chunks, query=None, timeout=600.0, length=None):
        """PUT an application/octet-stream body from `chunks`, an iterable of bytes that may
        fail (a download being relayed), sent chunked as it yields (or, with `length`, as a body
        of that Content-Length: a raw image needs it), then wait as run() does.

        When the iterable raises, the connection is dropped before the body's last chunk (the
        service sees an upload cut off and undoes it) and the iterable's exception propagates.
        """
        deadline = time.monotonic() + timeout
        target = urllib.parse.urlsplit(self.base)
        selector = target.path + path
        if query:
            selector += '?' + urllib.parse.urlencode(
                {k: _query_value(v) for k, v in query.items() if v is not None})
        if target.scheme == 'https':
            conn = http.client.HTTPSConnection(target.hostname, target.port,
                                               timeout=self.timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=self.timeout)
        try:
            wait = min(_remaining(deadline), MAX_WAIT_PER_CALL)
            try:
                conn.putrequest('PUT', selector, skip_accept_encoding=True)
                conn.putheader('Accept', 'application/json, application/problem+json')
                conn.putheader('User-Agent', self.user_agent)
                if self.token:
                    conn.putheader('Authorization', 'Bearer ' + self.token)
                conn.putheader('Content-Type', 'application/octet-stream')
                if length is None:
                    conn.putheader('Transfer-Encoding', 'chunked')
                else:
                    conn.putheader('Content-Length', str(int(length)))
                conn.putheader('Prefer', 'wait=%d' % wait)
                conn.endheaders()
                _send_body(conn, chunks, chunked=length is None)
                conn.sock.settimeout(self.timeout + wait)
                resp = conn.getresponse()
                raw = resp.read()
            except _SourceFailed as failed:
                raise failed.error from None
            except (OSError, http.client.HTTPException) as err:
                raise ServiceError(0, 'unreachable', '%s: %s' % (self.base, err)) from None
            if resp.status >= 400:
                raise _problem(resp.status, raw, resp.reason)
            return self._final(resp.status, _decode(raw, resp.status), deadline, timeout)
        finally:
            conn.close()

    def _final(self, status, op, deadline, timeout, progress=None):
        """The final Operation of a mutating call's answer, waited for while it runs."""
        if status == 204 or op is None:
            return None
        if not isinstance(op, dict) or 'status' not in op:
            return op  # not an Operation (a synchronous answer): hand it back as it is
        while op.get('status') == 'running':
            left = _remaining(deadline)
            if left <= 0:
                raise ServiceError(504, 'timeout', 'operation %s still running after %ss'
                                   % (op.get('id'), timeout), {'operation': op})
            if progress is not None:
                progress(op)
            op = self.request('GET', self.path('v1', 'operations', op['id']),
                              wait=_wait(deadline, progress))[1]
        if op.get('status') != 'succeeded':
            err = op.get('error') or {}
            raise ServiceError(err.get('status') or 500, err.get('code') or op.get('status'),
                               err.get('detail') or 'operation %s' % op.get('status'), err)
        return op


class _SourceFailed(Exception):
    """The iterable of an upload raised `error` (the connection did not fail)."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


def _send_body(conn, chunks, chunked):
    """Sends `chunks` (in HTTP chunked encoding, ending with the last chunk, when `chunked`);
    stops quietly when the service stops reading (its answer says why). A failure of the
    iterable itself (an IOError of a download being relayed too) raises _SourceFailed."""
    source = iter(chunks)
    while True:
        try:
            chunk = next(source)
        except StopIteration:
            break
        except Exception as err:  # any failure of the source ends the upload, cut
            raise _SourceFailed(err) from err
        if not chunk:
            continue
        try:
            conn.send(b'%x\r\n' % len(chunk) + bytes(chunk) + b'\r\n' if chunked
                      else bytes(chunk))
        except OSError:
            return
    if chunked:
        try:
            conn.send(b'0\r\n\r\n')
        except OSError:
            pass


def read_token(path):
    """The token from a file (first line, surrounding blanks removed)."""
    with open(path, 'r', encoding='utf-8') as fh:
        return fh.readline().strip()


def _query_value(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def _remaining(deadline):
    return max(0, int(deadline - time.monotonic()))


def _wait(deadline, progress):
    """How long one call waits for an operation: to the deadline, or to the next report."""
    left = _remaining(deadline)
    return left if progress is None else min(left, PROGRESS_EVERY)


def _retry_after(value):
    """Seconds to wait from a Retry-After header (delta seconds), 1 to 10, default 1."""
    try:
        return max(1, min(10, int(value)))
    except (TypeError, ValueError):
        return 1


def _problem(status, raw, reason):
    """The ServiceError of an HTTP error answer, from its problem+json when it has one."""
    try:
        problem = json.loads(raw.decode('utf-8')) if raw else {}
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    return ServiceError(status, problem.get('code') or 'http_%d' % status,
                        problem.get('detail') or problem.get('title') or reason, problem)


def _decode(raw, status):
    if not raw:
        return None
    try:
        return json.loads(raw.decode('utf-8'))
    except ValueError:
        raise ServiceError(status, 'bad_response', 'the service answered something not JSON')
