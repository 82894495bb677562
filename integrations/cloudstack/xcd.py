#!/usr/bin/env python3
# CloudStack Orchestrator extension of xen-compute-driver (4.21+), run as `xcd.py <action>
# <payload.json> <timeout>`: the action -> REST call table, the JSON and exit code CloudStack
# parses; the payload is cs_payload.py's. Must not: run a shell, read stdin, write to stderr
# (merged into the parsed output), or send the token anywhere but the operator's service URL.

import hashlib
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from cs_payload import (ID_RE, PayloadError, account_image_id, instance_id, nic_place, setting,
                        spawn_body, template_source, vm_name)
from xcd_rest import Client, ServiceError, read_token

MARGIN = 2  # seconds kept back from CloudStack's timeout to print an answer before the kill
# CloudStack reads the output only once the program has exited: more than a pipe's worth
# (64 KiB) would block the program until CloudStack kills it at the timeout.
MAX_OUTPUT = 60 * 1024
EXPORT_FORMATS = ('raw', 'vhd', 'qcow2')
# CloudStack's VirtualMachine.PowerState names, as `status` answers them. CloudStack compares the
# answer with PowerOn and PowerOff (any case) and reads anything else as PowerUnknown.
POWER_ON, POWER_OFF, POWER_UNKNOWN = 'PowerOn', 'PowerOff', 'PowerUnknown'
POWER_MISSING = 'PowerReportMissing'
# The service's power states as CloudStack's XenServer resource reads XAPI's: Running is on;
# Halted, Paused and Suspended are off; crashed and nostate unknown.
CS_POWER = {'running': POWER_ON, 'shutdown': POWER_OFF, 'paused': POWER_OFF,
            'suspended': POWER_OFF}


class ActionError(Exception):
    pass


def client_for(payload, timeout):
    url = setting(payload, 'url')
    if not url:
        raise ActionError('no service url: add the host with externaldetails[0].url=...')
    token = setting(payload, 'token')
    token_file = setting(payload, 'token_file')
    if not token and token_file:
        token = read_token(token_file)
    verify = str(setting(payload, 'verify', 'true')).lower() not in ('false', '0', 'no')
    return Client(url, token, ca_file=setting(payload, 'ca_file'), verify=verify,
                  timeout=max(1.0, min(30.0, timeout)), user_agent='xcd-cloudstack')


def _ipath(payload, *rest):
    return Client.path('v1', 'instances', instance_id(payload), *rest)


def _find(api, payload):
    try:
        return api.get(_ipath(payload))
    except ServiceError as err:
        if err.code == 'instance_not_found':
            return None
        raise


def _left(deadline):
    return max(1.0, deadline - time.monotonic())


def _power_action(api, payload, body, deadline):
    api.run('POST', _ipath(payload, 'actions'), body=body, timeout=_left(deadline))


def cs_power(instance):
    if instance is None:
        return POWER_MISSING
    return CS_POWER.get(instance.get('power_state'), POWER_UNKNOWN)


# -- templates ----------------------------------------------------------------------------------

def ensure_image(api, source, deadline):
    """The image of a URL template: found in the service's images (imported earlier), else
    imported now; an import already running (another deploy's) is waited for."""
    path = Client.path('v1', 'images', source.image_id)
    while True:
        try:
            image = api.get(path)
        except ServiceError as err:
            if err.status != 404:
                raise
            image = None
        if image is not None and image.get('status') == 'active':
            return source.image_id
        if image is not None and image.get('status') == 'importing':
            if deadline - time.monotonic() < 3:
                raise ActionError('image %s is still being imported' % source.image_id)
            time.sleep(1)
            continue
        try:
            api.run('PUT', path, body=source.import_body(), timeout=_left(deadline))
            return source.image_id
        except ServiceError as err:
            if err.code != 'image_busy' or deadline - time.monotonic() < 3:
                raise
        time.sleep(2)


# -- lifecycle ----------------------------------------------------------------------------------

def act_prepare(api, payload, deadline):
    return None  # nothing to patch into the VirtualMachineTO: the NICs keep CloudStack's MACs


def act_create(api, payload, deadline):
    kind, value = template_source(payload)
    if kind == 'url':
        source = {'image': ensure_image(api, value, deadline)}
    else:
        source = {kind: value}
    body = spawn_body(payload, source)
    api.run('PUT', _ipath(payload), body=body, timeout=_left(deadline))
    return {'status': 'success', 'message': 'instance %s created' % vm_name(payload)}


def act_start(api, payload, deadline):
    found = _find(api, payload)
    if found is None:
        raise ActionError('instance %s does not exist' % vm_name(payload))
    if found['power_state'] != 'running':
        _power_action(api, payload, {'action': 'power-on'}, deadline)
    return {'status': 'success', 'message': 'instance %s started' % vm_name(payload)}


def act_stop(api, payload, deadline):
    found = _find(api, payload)
    if found is not None and found['power_state'] != 'shutdown':
        grace = int(max(0, min(_left(deadline) / 2, 120)))
        body = {'action': 'power-off', 'type': 'clean' if grace else 'hard', 'timeout': grace}
        _power_action(api, payload, body, deadline)
    return {'status': 'success', 'message': 'instance %s stopped' % vm_name(payload)}


def act_reboot(api, payload, deadline):
    found = _find(api, payload)
    if found is None:
        raise ActionError('instance %s does not exist' % vm_name(payload))
    body = {'action': 'reboot', 'type': 'soft'} if found['power_state'] == 'running' \
        else {'action': 'power-on'}
    _power_action(api, payload, body, deadline)
    return {'status': 'success', 'message': 'instance %s rebooted' % vm_name(payload)}


def act_delete(api, payload, deadline):
    api.run('DELETE', _ipath(payload), timeout=_left(deadline))
    return {'status': 'success', 'message': 'instance %s deleted' % vm_name(payload)}


def act_status(api, payload, deadline):
    return {'status': 'success', 'power_state': cs_power(_find(api, payload))}


def act_statuses(api, payload, deadline):
    """Every instance of the token's namespace by name; one CloudStack lists that the service
    does not (removed outside CloudStack) is left out: CloudStack reads that as a missing
    report. An answer too long for CloudStack fails, and CloudStack asks `status` per VM."""
    states, offset = {}, 0
    while True:
        page = api.get('/v1/instances', {'limit': 1000, 'offset': offset})
        for item in page['items']:
            states[item['name']] = cs_power(item)
        offset += len(page['items'])
        if not page['items'] or offset >= page['total']:
            return {'status': 'success', 'power_state': states}


def act_getconsole(api, payload, deadline):
    """The service's one-time VNC console (plain RFB, VNC authentication), which CloudStack's
    console proxy VM connects to; the password works once and expires."""
    console = api.get(_ipath(payload, 'console'), {'type': 'vnc'})
    if not isinstance(console, dict) or console.get('type') != 'vnc' or \
            not all(console.get(k) for k in ('host', 'port', 'password')):
        raise ActionError('the service answered no one-time VNC console for %s' % vm_name(payload))
    return {'status': 'success',
            'console': {'host': console['host'], 'port': int(console['port']),
                        'password': console['password'], 'passwordonetimeuseonly': True,
                        'protocol': 'vnc'}}


# -- custom actions -----------------------------------------------------------------------------

def _param(payload, *names, **kw):
    params = payload.get('parameters') or {}
    if not isinstance(params, dict):
        raise ActionError('the parameters are not an object')
    for name in names:
        value = params.get(name)
        if value not in (None, ''):
            # a NUMBER parameter of DECIMAL format arrives as a float: 330.0 means 330
            return int(value) if isinstance(value, float) and value.is_integer() else value
    if 'default' in kw:
        return kw['default']
    raise ActionError('missing parameter %s' % names[0])


def _id_param(payload, what, *names, **kw):
    value = str(_param(payload, *names, **kw))
    if not ID_RE.match(value):
        raise ActionError('not a %s id: %r' % (what, value[:200]))
    return value


def _snapshot_id(payload, generate=False):
    default = {'default': 'cs-%d' % int(time.time() * 1000)} if generate else {}
    return _id_param(payload, 'snapshot', 'snapshot', 'snapshotid', 'id', **default)


def _device_param(payload, default=None):
    kw = {} if default is None else {'default': default}
    device = str(_param(payload, 'device', 'deviceid', **kw))
    if not re.match(r'^(?:0|[1-9][0-9]?)$', device):
        raise ActionError('not a device number: %r' % device[:200])
    return device


def act_snapshot_create(api, payload, deadline):
    snap = _snapshot_id(payload, generate=True)
    body = {'memory': str(_param(payload, 'memory', default='false')).lower() == 'true'}
    name = _param(payload, 'name', default=None)
    if name:
        body['name'] = str(name)
    api.run('PUT', _ipath(payload, 'snapshots', snap), body=body, timeout=_left(deadline))
    return {'status': 'success', 'printmessage': 'true',
            'message': {'snapshot': snap, 'name': name or snap}}


def act_snapshot_revert(api, payload, deadline):
    snap = _snapshot_id(payload)
    found = _find(api, payload)
    body = {'power_on': bool(found and found['power_state'] == 'running')}
    api.run('POST', _ipath(payload, 'snapshots', snap, 'revert'), body=body,
            timeout=_left(deadline))
    return {'status': 'success', 'message': 'reverted to snapshot %s' % snap}


def act_snapshot_delete(api, payload, deadline):
    snap = _snapshot_id(payload)
    api.run('DELETE', _ipath(payload, 'snapshots', snap), timeout=_left(deadline))
    return {'status': 'success', 'message': 'snapshot %s deleted' % snap}


def act_snapshot_list(api, payload, deadline):
    items = api.get(_ipath(payload, 'snapshots')).get('items', [])
    return {'status': 'success', 'printmessage': 'true',
            'message': [{'snapshot': s['id'], 'name': s['name'], 'created': s['created_at']}
                        for s in items]}


class _Counted:
    """A readable that counts and hashes what passes through it, and fails once the action's
    deadline has passed (the relay is cut off, so the service undoes a half-received image),
    leaving time to answer before CloudStack kills the program."""

    def __init__(self, raw, deadline):
        self.raw = raw
        self.deadline = deadline
        self.bytes = 0
        self.sha256 = hashlib.sha256()

    def read(self, size=-1):
        if time.monotonic() > self.deadline:
            raise ActionError('the export did not finish within the action\'s timeout (%d bytes '
                              'sent): register the action with a longer timeout' % self.bytes)
        chunk = self.raw.read(size)
        self.bytes += len(chunk)
        self.sha256.update(chunk)
        return chunk

    def chunks(self, size=1024 * 1024):
        while True:
            chunk = self.read(size)
            if not chunk:
                return
            yield chunk


def export_url(payload, url):
    """The destination URL of an export, when the operator's setting export_url_allow (comma-
    separated prefixes; none by default) lets the management server send disks there."""
    allow = [p.strip() for p in (setting(payload, 'export_url_allow') or '').split(',')
             if p.strip()]
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ('http', 'https') or not parts.hostname or \
            '@' in parts.netloc or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise ActionError('the export URL must be a plain http(s) URL: %r' % str(url)[:200])
    if not any(url.startswith(prefix) for prefix in allow):
        raise ActionError('the export URL is not allowed by the setting export_url_allow')
    return url


def act_snapshot_export(api, payload, deadline):
    """A snapshot's disk streamed to a new service image of the VM's account (`image`: kept as
    cs-<account id>-<image>, which templates of that account may name) or PUT to a URL (`url`)."""
    snap = _snapshot_id(payload)
    device = _device_param(payload, default='0')
    fmt = str(_param(payload, 'format', default='raw')).lower()
    if fmt not in EXPORT_FORMATS:
        raise ActionError('format must be one of %s' % ', '.join(EXPORT_FORMATS))
    image = _param(payload, 'image', default=None)
    url = _param(payload, 'url', default=None)
    if bool(image) == bool(url):
        raise ActionError('snapshot-export takes exactly one of the parameters image and url')
    if image:
        image = account_image_id(payload, str(image))
    else:
        url = export_url(payload, url)
    source = api.download(_ipath(payload, 'snapshots', snap, 'disks', device, 'file'),
                          {'format': fmt})
    with source:
        length = source.headers.get('Content-Length')
        counted = _Counted(source, deadline)
        if image:
            op = api.upload(Client.path('v1', 'images', image), counted.chunks(),
                            query={'format': fmt}, timeout=_left(deadline),
                            length=None if length is None else int(length))
            result = (op or {}).get('result') or {}
            return {'status': 'success', 'printmessage': 'true',
                    'message': {'image': image, 'format': fmt,
                                'checksum': result.get('checksum'),
                                'virtual_size': result.get('virtual_size')}}
        headers = {'Content-Type': 'application/octet-stream', 'User-Agent': 'xcd-cloudstack'}
        if length is not None:
            headers['Content-Length'] = str(int(length))
        req = urllib.request.Request(url, data=counted, method='PUT', headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=max(1.0, min(60.0, _left(deadline)))):
                pass
        except (urllib.error.URLError, OSError) as err:
            raise ActionError('the export URL refused the disk: %s' % getattr(err, 'reason', err))
    return {'status': 'success', 'printmessage': 'true',
            'message': {'url': url, 'format': fmt, 'bytes': counted.bytes,
                        'checksum': 'sha256:' + counted.sha256.hexdigest()}}


def _nics(api, payload):
    return api.get(_ipath(payload, 'nics')).get('items', [])


def act_nic_add(api, payload, deadline):
    """A NIC on VLAN `vlan` (a number, or `untagged` for the default network), with `mac` and
    `device` when given; placed as deploy places CloudStack's NICs."""
    vlan = str(_param(payload, 'vlan'))
    body = nic_place(payload, 'vlan://' + vlan, 'to add')
    mac = _param(payload, 'mac', default=None)
    if mac is not None:
        body['mac'] = str(mac).lower()
    if _param(payload, 'device', 'deviceid', default=None) is not None:
        body['device'] = _device_param(payload)
    api.run('POST', _ipath(payload, 'nics'), body=body, timeout=_left(deadline))
    return {'status': 'success', 'printmessage': 'true',
            'message': [{'device': n['device'], 'mac': n['mac'], 'network': n['network']}
                        for n in _nics(api, payload)]}


def act_nic_remove(api, payload, deadline):
    """The NIC at `device`, or the one with `mac`."""
    mac = _param(payload, 'mac', default=None)
    if mac is not None:
        found = [n for n in _nics(api, payload) if n['mac'].lower() == str(mac).lower()]
        if not found:
            raise ActionError('no NIC with MAC %r' % str(mac)[:200])
        device = found[0]['device']
    else:
        device = _device_param(payload)
    api.run('DELETE', _ipath(payload, 'nics', device), timeout=_left(deadline))
    return {'status': 'success', 'message': 'NIC %s removed' % device}


def act_resize(api, payload, deadline):
    """cpus and/or memory (MiB); `power_cycle` none (default, live only), clean or hard."""
    body = {'action': 'resize'}
    cpus = _param(payload, 'cpus', default=None)
    memory = _param(payload, 'memory', default=None)
    if cpus is not None:
        body['vcpus'] = int(cpus)
    if memory is not None:
        body['memory_mb'] = int(memory)
    if len(body) == 1:
        raise ActionError('resize needs the parameter cpus or memory (MiB)')
    body['power_cycle'] = str(_param(payload, 'power_cycle', default='none'))
    _power_action(api, payload, body, deadline)
    return {'status': 'success', 'message': 'instance %s resized' % vm_name(payload)}


ACTIONS = {
    'prepare': act_prepare,
    'create': act_create,
    'deploy': act_create,
    'start': act_start,
    'stop': act_stop,
    'reboot': act_reboot,
    'delete': act_delete,
    'status': act_status,
    'statuses': act_statuses,
    'getconsole': act_getconsole,
    'snapshot-create': act_snapshot_create,
    'snapshot-revert': act_snapshot_revert,
    'snapshot-delete': act_snapshot_delete,
    'snapshot-list': act_snapshot_list,
    'snapshot-export': act_snapshot_export,
    'nic-add': act_nic_add,
    'nic-remove': act_nic_remove,
    'resize': act_resize,
}


def normalise(action):
    """CreateSnapshot, create_snapshot, snapshot_create ... all name 'snapshot-create'."""
    key = re.sub(r'[-_ ]', '', action.lower())
    for known in ACTIONS:
        parts = known.split('-')
        if key == ''.join(parts) or key == ''.join(reversed(parts)):
            return known
    return action


def main(argv):
    if len(argv) < 3:
        return fail('usage: xcd.py <action> <payload.json> [<timeout>]')
    action = normalise(argv[1])
    handler = ACTIONS.get(action)
    if handler is None:
        return fail('Invalid action')
    try:
        timeout = float(argv[3]) if len(argv) > 3 else 1800.0
    except ValueError:
        timeout = 1800.0
    deadline = time.monotonic() + max(1.0, timeout - MARGIN)
    try:
        with open(argv[2], 'r', encoding='utf-8') as fh:
            payload = json.load(fh)
        if not isinstance(payload, dict):
            raise ActionError('the payload is not a JSON object')
        out = handler(client_for(payload, timeout), payload, deadline)
    except (ActionError, PayloadError, ServiceError, OSError, ValueError) as err:
        return fail(str(err))
    except Exception as err:  # any other failure still answers CloudStack's JSON error shape
        return fail('%s: %s' % (type(err).__name__, err))
    if out is not None:
        text = json.dumps(out, separators=(',', ':'))
        if len(text.encode('utf-8')) > MAX_OUTPUT:
            return fail('the answer of %s exceeds the %d bytes CloudStack can take'
                        % (action, MAX_OUTPUT))
        sys.stdout.write(text + '\n')
    return 0


def fail(message):
    sys.stdout.write(json.dumps({'status': 'error', 'error': message}) + '\n')
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
