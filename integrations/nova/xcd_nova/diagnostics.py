# The service's Diagnostics document (GET /v1/instances/{id}/diagnostics) in Nova's two shapes:
# the legacy dict of get_diagnostics and the Diagnostics object of get_instance_diagnostics.
# Must not: call the service, or invent counters XAPI's metrics objects do not carry.

from nova.compute import power_state
from nova.objects import diagnostics as diagnostics_obj

_POWER = {
    'running': power_state.RUNNING, 'paused': power_state.PAUSED,
    'shutdown': power_state.SHUTDOWN, 'suspended': power_state.SUSPENDED,
    'crashed': power_state.CRASHED, 'nostate': power_state.NOSTATE,
}


def legacy(diag):
    """get_diagnostics: a flat dict, as the XenAPI driver's was (cpuN, memory, disk and vif keys)."""
    out = {'uptime': diag.get('uptime_s', 0)}
    for cpu in diag.get('cpus') or []:
        out['cpu%d_utilisation' % cpu['id']] = cpu['utilisation']
    mem = diag.get('memory') or {}
    out['memory'] = mem.get('actual_mb', 0) * 1024 * 1024
    out['memory_target'] = mem.get('target_mb', 0) * 1024 * 1024
    for disk in diag.get('disks') or []:
        out['vbd_%s_size' % disk['device']] = int(disk.get('size_gb', 0) * 1024 ** 3)
    for nic in diag.get('nics') or []:
        out['vif_%s_mac' % nic['device']] = nic['mac']
    return out


def instance(diag, config_drive=False):
    """get_instance_diagnostics: nova.objects.diagnostics.Diagnostics."""
    mem = diag.get('memory') or {}
    guest = diag.get('guest') or {}
    result = diagnostics_obj.Diagnostics(
        state=_POWER.get(diag.get('power_state'), power_state.NOSTATE),
        driver='xenapi',
        hypervisor='xen',
        hypervisor_os=diag.get('hypervisor_os') or ((guest.get('os') or {}).get('name')),
        uptime=int(diag.get('uptime_s') or 0),
        config_drive=bool(config_drive),
        memory_details=diagnostics_obj.MemoryDiagnostics(
            maximum=mem.get('max_mb'), used=mem.get('actual_mb')),
        cpu_details=[], nic_details=[], disk_details=[])
    for cpu in diag.get('cpus') or []:
        result.add_cpu(id=cpu['id'], utilisation=int(round(cpu['utilisation'] * 100)))
    for nic in diag.get('nics') or []:
        result.add_nic(mac_address=nic['mac'])
    for _disk in diag.get('disks') or []:
        result.add_disk()
    return result
