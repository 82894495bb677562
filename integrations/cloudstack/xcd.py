#!/usr/bin/env python3
# CloudStack Orchestrator extension executable of xen-compute-driver (CloudStack 4.21+):
# `xcd.py <action> <payload.json> <timeout>`, as CloudStack's ExternalPathPayloadProvisioner runs it.
# Owns: reading CloudStack's payload, the action -> REST call table, the JSON CloudStack parses,
# exit 0/1. Must not: run a shell, hold hypervisor logic, read stdin, or write to stderr (CloudStack
# merges stderr into the output it parses).

import json
import math
import re
import sys
import time

from xcd_rest import Client, ServiceError, read_token

ID_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$')
MIB = 1024 * 1024
GIB = 1024 * MIB
MARGIN = 2  # seconds kept back from CloudStack's timeout to print an answer before the kill


class ActionError(Exception):
    pass


# -- payload ----------------------------------------------------------------------------------

def detail(payload, key, default=None):
    """A setting from the payload's external details: VM, then host, cluster, extension."""
    ext = payload.get('externaldetails') or {}
    for scope in ('virtualmachine', 'host', 'resourcemap', 'extension'):
        value = (ext.get(scope) or {}).get(key)
        if value not in (None, ''):
            return value
    return default


def client_for(payload, timeout):
    url = detail(payload, 'url')
    if not url:
        raise ActionError('no service url: add the host with externaldetails[0].url=...')
    token = detail(payload, 'token')
    token_file = detail(payload, 'token_file')
    if not token and token_file:
        token = read_token(token_file)
    verify = str(detail(payload, 'verify', 'true')).lower() not in ('false', '0', 'no')
    return Client(url, token, ca_file=detail(payload, 'ca_file'), verify=verify,
                  timeout=max(1.0, min(30.0, timeout)), user_agent='xcd-cloudstack')


def vm_name(payload):
    name = payload.get('virtualmachinename') or (payload.get('cloudstack.vm.details') or {}).get('name')
    if not name:
        raise ActionError('the payload names no virtual machine')
    return name


def instance_id(payload):
    """CloudStack's instance name (i-<account>-<vm>-VM) when it is a valid id, else its uuid."""
    name = vm_name(payload)
    if ID_RE.match(name):
        return name
    uuid = payload.get('virtualmachineid') or (payload.get('cloudstack.vm.details') or {}).get('uuid')
    if not uuid or not ID_RE.match(uuid):
        raise ActionError('neither the VM name nor its id can name an instance')
    return uuid


def _nic_network(payload, nic):
    """The NIC's place: the pool network mapped for its VLAN (network.vlan.<id>), else, with the
    detail vlan_networks=service, the service's own network of that VLAN (made on demand), else
    the detail network."""
    vlan = None
    uri = nic.get('broadcastUri') or ''
    if uri.startswith('vlan://') and uri[7:].isdigit():
        vlan = uri[7:]
    if vlan is None and detail(payload, 'cloudstack.vlan', '').isdigit():
        vlan = detail(payload, 'cloudstack.vlan')
    if vlan is not None and detail(payload, 'network.vlan.' + vlan):
        return {'network': detail(payload, 'network.vlan.' + vlan)}
    if vlan is not None and detail(payload, 'vlan_networks') == 'service':
        return {'vlan': int(vlan)}
    network = detail(payload, 'network')
    if not network:
        raise ActionError('no pool network for NIC %s: set the detail network (or network.vlan.<id>)'
                          % nic.get('deviceId', '?'))
    return {'network': network}


def _root_size_gb(to):
    for disk in to.get('disks') or []:
        if disk.get('type') != 'ROOT':
            continue
        for wrapped in (disk.get('data') or {}).values():
            size = (wrapped or {}).get('size')
            if isinstance(size, (int, float)) and size > 0:
                return max(1, int(math.ceil(size / GIB)))
    return None


def spawn_body(payload):
    to = payload.get('cloudstack.vm.details') or {}
    body = {'name': vm_name(payload), 'power_on': True}
    image_vdi = detail(payload, 'image_vdi')
    template = detail(payload, 'template')
    if image_vdi:
        body['image_vdi'] = image_vdi
    elif template:
        body['template'] = template
    else:
        raise ActionError('no template: register the template with the external detail template=...')
    if to.get('cpus'):
        body['vcpus'] = int(to['cpus'])
    ram = to.get('maxRam') or to.get('minRam')
    if ram:
        body['memory_mb'] = max(16, int(ram) // MIB)
    root = _root_size_gb(to)
    if root:
        body['root_disk_gb'] = root
    if detail(payload, 'sr'):
        body['sr'] = detail(payload, 'sr')
    nics = []
    for nic in sorted(to.get('nics') or [], key=lambda n: n.get('deviceId', 0)):
        entry = _nic_network(payload, nic)
        if nic.get('mac'):
            entry['mac'] = nic['mac'].lower()
        nics.append(entry)
    if nics:
        body['nics'] = nics
    body['metadata'] = {'cloudstack_vm_uuid': payload.get('virtualmachineid'),
                        'cloudstack_vm_name': body['name']}
    return body


# -- actions ----------------------------------------------------------------------------------

def _ipath(payload, *rest):
    return Client.path('v1', 'instances', instance_id(payload), *rest)


def _find(api, payload):
    try:
        return api.get(_ipath(payload))
    except ServiceError as err:
        if err.code == 'instance_not_found':
            return None
        raise


def _power_action(api, payload, body, deadline):
    api.run('POST', _ipath(payload, 'actions'), body=body, timeout=_left(deadline))


def _left(deadline):
    return max(1.0, deadline - time.monotonic())


def cs_power(instance):
    """CloudStack's reading of XAPI power states: Running is on; Halted/Paused/Suspended off."""
    if instance is None:
        return 'poweroff'
    state = instance.get('power_state')
    if state == 'running':
        return 'poweron'
    if state in ('shutdown', 'paused', 'suspended'):
        return 'poweroff'
    return 'unknown'


def act_prepare(api, payload, deadline):
    return None  # nothing to patch into the VirtualMachineTO: the service picks MACs at spawn


def act_create(api, payload, deadline):
    api.run('PUT', _ipath(payload), body=spawn_body(payload), timeout=_left(deadline))
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
    states, offset = {}, 0
    while True:
        page = api.get('/v1/instances', {'limit': 1000, 'offset': offset})
        for item in page['items']:
            states[item['name']] = cs_power(item)
        offset += len(page['items'])
        if not page['items'] or offset >= page['total']:
            return {'status': 'success', 'power_state': states}


def act_getconsole(api, payload, deadline):
    """The console record's URL, without the service's XAPI session: the path the service
    offers carries a pool session id, which must never reach CloudStack's users. XAPI serves
    RFB there after an HTTP CONNECT, authenticated with pool credentials."""
    console = api.get(_ipath(payload, 'console'))
    if not console.get('url'):
        raise ActionError('the service offers no console URL for %s' % vm_name(payload))
    return {'status': 'success', 'console': {'url': console['url'], 'protocol': 'direct'}}


def _param(payload, *names, **kw):
    params = payload.get('parameters') or {}
    for name in names:
        if params.get(name) not in (None, ''):
            return params[name]
    if 'default' in kw:
        return kw['default']
    raise ActionError('missing parameter %s' % names[0])


def _snapshot_id(payload, generate=False):
    default = {'default': 'cs-%d' % int(time.time() * 1000)} if generate else {}
    snap = str(_param(payload, 'snapshot', 'snapshotid', 'id', **default))
    if not ID_RE.match(snap):
        raise ActionError('not a snapshot id: %r' % snap)
    return snap


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
    except (ActionError, ServiceError, OSError, ValueError) as err:
        return fail(str(err))
    if out is not None:
        sys.stdout.write(json.dumps(out) + '\n')
    return 0


def fail(message):
    sys.stdout.write(json.dumps({'status': 'error', 'error': message}) + '\n')
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
