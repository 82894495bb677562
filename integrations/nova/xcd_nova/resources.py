# The service's host view (GET /v1/host) in the shapes Nova's resource tracker and placement want.
# Owns: get_available_resource's dict, the provider-tree inventory, uptime text, CPU time
# counters.
# Must not: call the service (the driver passes the host view in) or guess figures it lacks.

import ipaddress
import json
import time

import os_resource_classes as orc
from nova.compute import utils as compute_utils
import nova.conf

CONF = nova.conf.CONF


def available_resource(host):
    vcpus = host['vcpus']
    mem = host['memory_mb']
    disk = host['disk_gb']
    cpu_info = dict(host.get('cpu_info') or {})
    return {
        'vcpus': vcpus['total'],
        'memory_mb': mem['total'],
        'local_gb': disk['total'],
        'vcpus_used': vcpus['used'],
        'memory_mb_used': mem['used'],
        'local_gb_used': disk['used'],
        'hypervisor_type': host.get('hypervisor_type') or 'xen',
        'hypervisor_version': int(host.get('hypervisor_version') or 0),
        'hypervisor_hostname': host['hostname'],
        'cpu_info': json.dumps(cpu_info),
        'disk_available_least': disk['free'],
        'supported_instances': [tuple(t) for t in host.get('supported_instances') or []],
        'numa_topology': None,
        'host_ip': host_ip(host),
    }


def host_ip(host):
    """The master's IPv4 address as the service reports it, else nova.conf's my_ip."""
    addr = host.get('host_ip') or ''
    try:
        if ipaddress.ip_address(addr).version == 4:
            return addr
    except ValueError:
        pass
    return CONF.my_ip


def inventory(host, ratios):
    """Placement inventory for the pool as one node. max_unit is the largest single host, since
    an instance cannot span hosts."""
    per_host = [h for h in host.get('hosts') or [] if h.get('live', True)]
    max_vcpu = max([h['vcpus']['total'] for h in per_host] or [host['vcpus']['total']])
    max_mem = max([h['memory_mb']['total'] for h in per_host] or [host['memory_mb']['total']])
    disk_total = host['disk_gb']['total']
    return {
        orc.VCPU: {
            'total': host['vcpus']['total'], 'min_unit': 1, 'max_unit': max(1, max_vcpu),
            'step_size': 1, 'allocation_ratio': ratios[orc.VCPU],
            'reserved': CONF.reserved_host_cpus,
        },
        orc.MEMORY_MB: {
            'total': host['memory_mb']['total'], 'min_unit': 1, 'max_unit': max(1, max_mem),
            'step_size': 1, 'allocation_ratio': ratios[orc.MEMORY_MB],
            'reserved': CONF.reserved_host_memory_mb,
        },
        orc.DISK_GB: {
            'total': disk_total, 'min_unit': 1, 'max_unit': max(1, disk_total),
            'step_size': 1, 'allocation_ratio': ratios[orc.DISK_GB],
            'reserved': compute_utils.convert_mb_to_ceil_gb(CONF.reserved_host_disk_mb),
        },
    }


def uptime_text(host):
    secs = int(host.get('uptime') or 0)
    days, rest = divmod(secs, 86400)
    hours, rest = divmod(rest, 3600)
    return 'up %d days, %2d:%02d' % (days, hours, rest // 60)


class CpuTime:
    """Nova's get_host_cpu_stats counters for the pool, in nanoseconds.

    XAPI keeps no CPU-time counters: each host reports the utilisation of its CPUs
    (`cpu_usage`, 0..1). Every sample adds, for each live host, usage x CPUs x the time since
    the previous sample to `user` and the rest to `idle`, so the counters only grow and their
    deltas give the pool's utilisation over the interval, as Nova's CPU monitor reads them.
    `kernel` and `iowait` are not split out by XAPI and stay 0; `frequency` is the MHz of the
    hosts' CPUs.
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._last = None
        self._user = 0
        self._idle = 0

    def sample(self, host):
        now = self._clock()
        live = [h for h in host.get('hosts') or [] if h.get('live')]
        if self._last is not None:
            elapsed_ns = int((now - self._last) * 1e9)
            for h in live:
                cpus = (h.get('vcpus') or {}).get('total') or 0
                usage = min(1.0, max(0.0, float(h.get('cpu_usage') or 0.0)))
                busy = int(elapsed_ns * cpus * usage)
                self._user += busy
                self._idle += elapsed_ns * cpus - busy
        self._last = now
        speeds = [h['cpu_speed_mhz'] for h in live if h.get('cpu_speed_mhz')]
        return {'kernel': 0, 'idle': self._idle, 'user': self._user, 'iowait': 0,
                'frequency': max(speeds) if speeds else 0}
