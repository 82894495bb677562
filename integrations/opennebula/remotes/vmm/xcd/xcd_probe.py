# OpenNebula monitor probes of the xcd driver: the host's capacity (SYSTEM_HOST, MONITOR_HOST)
# and the VMs' states and figures (STATE_VM, MONITOR_VM), in the text monitord parses.
# Owns: the probe output formats. Must not: change anything (GETs only), or run a shell.
# The probes in remotes/im/xcd-probes.d/ call main(<kind>); settings as for the VMM actions.

import base64
import sys

from xcd_one import client, config
from xcd_rest import ServiceError

# Normalized power state -> the VM state words oned acts on.
ONE_STATES = {
    'running': 'RUNNING', 'paused': 'SUSPENDED', 'suspended': 'SUSPENDED',
    'shutdown': 'POWEROFF', 'crashed': 'FAILURE', 'nostate': 'UNKNOWN',
}


def _q(value):
    """A quoted attribute value: quotes and backslashes escaped, newlines flattened."""
    return '"%s"' % ' '.join(str(value).split()).replace('\\', '\\\\').replace('"', '\\"')


def instances(api):
    offset = 0
    while True:
        page = api.get('/v1/instances', {'limit': 1000, 'offset': offset})
        yield from page['items']
        offset += len(page['items'])
        if not page['items'] or offset >= page['total']:
            return


def _one_id(instance):
    iid = instance['id']
    return iid[4:] if iid.startswith('one-') and iid[4:].isdigit() else '-1'


def host_system(api):
    host = api.get('/v1/host')
    cpu = host.get('cpu_info') or {}
    return [
        'HYPERVISOR=xcd',
        'HOSTNAME=%s' % _q(host['hostname']),
        'TOTALCPU=%d' % (host['vcpus']['total'] * 100),
        'CPUSPEED=%d' % int(float(cpu.get('speed') or 0)),
        'TOTALMEMORY=%d' % (host['memory_mb']['total'] * 1024),
        'MODELNAME=%s' % _q(cpu.get('modelname') or cpu.get('model') or 'unknown'),
        'VERSION=%s' % _q(host['product'].get('version', '')),
    ]


def host_monitor(api):
    host = api.get('/v1/host')
    vcpus, mem = host['vcpus'], host['memory_mb']
    return [
        'USEDMEMORY=%d' % (mem['used'] * 1024),
        'FREEMEMORY=%d' % (max(0, mem['free']) * 1024),
        'USEDCPU=%d' % (vcpus['used'] * 100),
        'FREECPU=%d' % (max(0, vcpus['total'] - vcpus['used']) * 100),
        'NETRX=0',
        'NETTX=0',
    ]


def vm_status(api):
    return ['VM = [ ID=%s, DEPLOY_ID=%s, UUID=%s, STATE=%s ]' % (
        _q(_one_id(i)), _q(i['id']), _q(i['uuid']),
        _q(ONE_STATES.get(i['power_state'], 'UNKNOWN'))) for i in instances(api)]


def vm_monitor(api):
    lines = []
    for i in instances(api):
        running = i['power_state'] == 'running'
        monitor = 'CPU=0\nMEMORY=%d\n' % ((i.get('memory_mb') or 0) * 1024 if running else 0)
        lines.append('VM = [ ID=%s, DEPLOY_ID=%s, MONITOR=%s ]' % (
            _q(_one_id(i)), _q(i['id']),
            _q(base64.b64encode(monitor.encode('ascii')).decode('ascii'))))
    return lines


PROBES = {'host/system': host_system, 'host/monitor': host_monitor,
          'vm/status': vm_status, 'vm/monitor': vm_monitor}


def main(kind):
    try:
        lines = PROBES[kind](client(config()))
    except (ServiceError, OSError, ValueError, KeyError) as err:
        sys.stderr.write('ERROR: xcd probe %s: %s\n' % (kind, ' '.join(str(err).split())))
        return 1
    sys.stdout.write(''.join(line + '\n' for line in lines))
    return 0
