# HTTP client of the xen-compute-driver REST API, shared by the orchestrator integrations.
# Owns: requests with bearer auth and the TLS policy, problem+json decoding, waiting for operations.
# Must not: know any orchestrator, nor anything of XAPI beyond the REST contract. Python 3 stdlib only.
# The one copy in the tree: each integration's install step puts it beside the code that imports
# `xcd_rest` (Nova: into the installed xcd_nova package; CloudStack, OpenNebula: next to the programs).

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

MAX_WAIT_PER_CALL = 300  # the contract's ceiling for `Prefer: wait=N`


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
        url = self.base + path
        if query:
            url += '?' + urllib.parse.urlencode(
                {k: _query_value(v) for k, v in query.items() if v is not None})
        data = None
        headers = {'Accept': 'application/json, application/problem+json',
                   'User-Agent': self.user_agent}
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
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._ssl) as resp:
                return resp.status, _decode(resp.read(), resp.status)
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                problem = json.loads(raw.decode('utf-8')) if raw else {}
            except ValueError:
                problem = {}
            if not isinstance(problem, dict):
                problem = {}
            raise ServiceError(err.code, problem.get('code') or 'http_%d' % err.code,
                               problem.get('detail') or problem.get('title') or err.reason,
                               problem) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, 'reason', err)
            raise ServiceError(0, 'unreachable', '%s: %s' % (self.base, reason)) from None

    def get(self, path, query=None):
        return self.request('GET', path, query=query)[1]

    def run(self, method, path, body=None, query=None, timeout=600.0):
        """Start a mutating call and wait for its operation to end.

        Returns the final Operation when it succeeded, None when the service answered 204 (nothing
        to do). A failed or cancelled operation raises ServiceError with the operation's error
        code; an operation still running at `timeout` raises ServiceError code 'timeout'.
        """
        deadline = time.monotonic() + timeout
        status, op = self.request(method, path, body=body, query=query,
                                  wait=_remaining(deadline))
        if status == 204 or op is None:
            return None
        if not isinstance(op, dict) or 'status' not in op:
            return op  # not an Operation (a synchronous answer): hand it back as it is
        while op.get('status') == 'running':
            left = _remaining(deadline)
            if left <= 0:
                raise ServiceError(504, 'timeout', 'operation %s still running after %ss'
                                   % (op.get('id'), timeout), {'operation': op})
            op = self.request('GET', self.path('v1', 'operations', op['id']), wait=left)[1]
        if op.get('status') != 'succeeded':
            err = op.get('error') or {}
            raise ServiceError(err.get('status') or 500, err.get('code') or op.get('status'),
                               err.get('detail') or 'operation %s' % op.get('status'), err)
        return op


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


def _decode(raw, status):
    if not raw:
        return None
    try:
        return json.loads(raw.decode('utf-8'))
    except ValueError:
        raise ServiceError(status, 'bad_response', 'the service answered something not JSON')
