# OpenNebula VMM driver actions of xen-compute-driver (one_vmm_sh, local mode, TYPE="xml").
# Owns: each action's argv, the Base64 stdin, the VM XML fields it reads, the REST call it makes,
# stdout (deploy id / snapshot id only), `ERROR:`/`INFO:` stderr lines and exit codes.
# Must not: run a shell, write the deployment file, or hold hypervisor logic.

import base64
import os
import sys
import xml.etree.ElementTree as ET

from xcd_context import config_drive, context_at, context_of
from xcd_disks import (IMAGE_PREFIX, DiskError, device, disk_request, is_persistent, is_volatile,
                       size_gb, source_image)
from xcd_rest import Client, ServiceError, read_token

# LCM states (OpenNebula's VirtualMachine LcmState) that end the VM for good: terminate
# (SHUTDOWN, CANCEL), recover --delete and resubmit (CLEANUP_*). Poweroff and undeploy
# (SHUTDOWN_POWEROFF 18, SHUTDOWN_UNDEPLOY 29) keep the instance halted for the next DEPLOY.
LCM_DESTROY = {'12', '13', '15', '23'}
CONFIG_FILE = '/etc/one/xcdrc'
# The members of a spawn request that make the config drive (PUT .../config-drive takes them).
CONFIG_DRIVE = ('user_data', 'metadata')
OPERATION_TIMEOUT = 900.0


class ActionError(Exception):
    pass


# -- configuration and input ------------------------------------------------------------------

def config():
    """Settings from the environment (vmm_execrc exports them), else KEY=VALUE lines of
    $XCD_CONFIG or /etc/one/xcdrc. The file is parsed, never sourced."""
    conf = {}
    path = os.environ.get('XCD_CONFIG', CONFIG_FILE)
    if os.path.isfile(path):
        with open(path, 'r', encoding='utf-8') as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith('#') and '=' in line:
                    key, _, value = line.partition('=')
                    conf[key.strip()] = value.strip().strip('"\'')
    for key, value in os.environ.items():
        if key.startswith('XCD_') and value != '':
            conf[key] = value
    return conf


def client(conf):
    token = conf.get('XCD_TOKEN')
    if not token and conf.get('XCD_TOKEN_FILE'):
        token = read_token(conf['XCD_TOKEN_FILE'])
    verify = conf.get('XCD_VERIFY', 'yes').lower() not in ('no', 'false', '0')
    return Client(conf.get('XCD_URL'), token, ca_file=conf.get('XCD_CA_FILE'), verify=verify,
                  user_agent='xcd-opennebula')


def read_stdin_xml():
    """The XML of the Base64 line oned's local mode writes on stdin (None when there is none)."""
    raw = sys.stdin.buffer.read() if not sys.stdin.isatty() else b''
    raw = raw.strip()
    if not raw:
        return None
    try:
        return ET.fromstring(base64.b64decode(raw, validate=True))
    except (ValueError, ET.ParseError) as err:
        raise ActionError('stdin is not the Base64 XML oned sends: %s' % err)


def vm_of(doc):
    """The <VM> element of a deployment file or of VMM_DRIVER_ACTION_DATA."""
    if doc is None:
        return None
    return doc if doc.tag == 'VM' else doc.find('VM')


def text(node, path, default=None):
    found = node.find(path) if node is not None else None
    if found is None or found.text is None:
        return default
    return found.text.strip()


def attr(vm, name, default=None):
    """A VM attribute from its user template, else its template."""
    return text(vm, 'USER_TEMPLATE/' + name) or text(vm, 'TEMPLATE/' + name) or default


def instance_id(vmid):
    if not str(vmid).isdigit():
        raise ActionError('not a VM id: %r' % vmid)
    return 'one-%s' % vmid


def ipath(deploy_id, *rest):
    return Client.path('v1', 'instances', deploy_id, *rest)


# -- actions ----------------------------------------------------------------------------------

def spawn_body(vm, conf, dfile=None):
    """The spawn request of a VM, and the disks added after it as (device, request) pairs: a VM
    whose DISK 0 is an image of an xcd datastore is built from its DISKs; XCD_TEMPLATE (or
    XCD_IMAGE_VDI) names a pool template (or VDI) to clone instead."""
    body = {'name': text(vm, 'NAME') or 'one-%s' % text(vm, 'ID'), 'power_on': True}
    disks = sorted(vm.findall('TEMPLATE/DISK'), key=lambda d: int(text(d, 'DISK_ID', '0')))
    template = attr(vm, 'XCD_TEMPLATE')
    image_vdi = attr(vm, 'XCD_IMAGE_VDI')
    root = disks[0] if disks and text(disks[0], 'DISK_ID', '0') == '0' else None
    later = []
    if image_vdi:
        body['image_vdi'] = image_vdi
    elif template or ((root is None or not _from_image(root)) and conf.get('XCD_DEFAULT_TEMPLATE')):
        body['template'] = template or conf['XCD_DEFAULT_TEMPLATE']
    elif root is not None and _from_image(root):
        body['image'] = source_image(text(root, 'SOURCE'))
        if _persistent(root):  # the image itself is the root disk (never grown)
            body['persistent_image'] = True
        elif text(root, 'SIZE'):
            body['root_disk_gb'] = size_gb(text(root, 'SIZE'))
        later = [(device(text(d, 'DISK_ID')), _disk_body(d)) for d in disks[1:]]
    else:
        raise ActionError('DISK 0 is not an image of an xcd datastore: set XCD_TEMPLATE in the '
                          'VM template (or XCD_DEFAULT_TEMPLATE)')
    if 'image' not in body:  # a template's root disk is resized; fs/swap disks are added blank
        if disks and text(disks[0], 'SIZE'):
            body['root_disk_gb'] = size_gb(text(disks[0], 'SIZE'))
        extra = [{'size_gb': size_gb(text(d, 'SIZE'))}
                 for d in disks[1:] if is_volatile(text(d, 'TYPE')) and text(d, 'SIZE')]
        if extra:
            body['disks'] = extra
    vcpu = text(vm, 'TEMPLATE/VCPU') or text(vm, 'TEMPLATE/CPU')
    if vcpu:
        body['vcpus'] = max(1, int(float(vcpu) + 0.999))
    memory = text(vm, 'TEMPLATE/MEMORY')
    if memory:
        body['memory_mb'] = max(16, int(memory))
    # VCPU_MAX / MEMORY_MAX: the ceilings of live resizes, set before the first start.
    vcpu_max = text(vm, 'TEMPLATE/VCPU_MAX')
    if vcpu_max:
        body['max_vcpus'] = max(body.get('vcpus', 1), int(vcpu_max))
    memory_max = text(vm, 'TEMPLATE/MEMORY_MAX')
    if memory_max:
        body['max_memory_mb'] = max(body.get('memory_mb', 16), int(memory_max))
    nics = []
    for nic in vm.findall('TEMPLATE/NIC'):
        entry = nic_place(nic, conf)
        if text(nic, 'MAC'):
            entry['mac'] = text(nic, 'MAC').lower()
        nics.append(entry)
    if nics:
        body['nics'] = nics
    context = context_of(vm, dfile)
    if context is not None:
        body.update(config_drive(context))
    if later:
        body['power_on'] = False  # started once every disk is in place
    return body, later


def _persistent(disk):
    return is_persistent(text(disk, 'PERSISTENT'), text(disk, 'CLONE'))


def _disk_body(disk):
    """The `PUT /disks/{device}` body of a DISK (a persistent image: the image itself)."""
    return disk_request(text(disk, 'TYPE'), text(disk, 'SOURCE'), text(disk, 'SIZE'),
                        persistent=_persistent(disk) and _from_image(disk))


def _from_image(disk):
    return not is_volatile(text(disk, 'TYPE')) and \
        (text(disk, 'TM_MAD') == 'xcd' or (text(disk, 'SOURCE') or '').startswith(IMAGE_PREFIX))


def nic_place(nic, conf, bridge=None):
    """Where a NIC goes: its XCD_NETWORK; the service's own network of its VLAN_ID (made on
    demand within the service's VLAN range; XCD_VLAN_NETWORKS=bridge turns this off); else its
    bridge, else XCD_DEFAULT_NETWORK."""
    if text(nic, 'XCD_NETWORK'):
        return {'network': text(nic, 'XCD_NETWORK')}
    vlan = text(nic, 'VLAN_ID')
    if vlan and conf.get('XCD_VLAN_NETWORKS', 'service') != 'bridge':
        if not vlan.isdigit() or len(vlan) > 4:
            raise ActionError('NIC %s: VLAN_ID %r is not a VLAN tag'
                              % (text(nic, 'NIC_ID', '?'), vlan))
        return {'vlan': int(vlan)}
    network = bridge or text(nic, 'BRIDGE') or conf.get('XCD_DEFAULT_NETWORK')
    if not network:
        raise ActionError('NIC %s names no bridge' % text(nic, 'NIC_ID', '?'))
    return {'network': network}


def deploy(api, conf, args, doc):
    """deploy <deployment file> <host> <vmid> <host>: prints the deploy id."""
    dfile, vmid = args[0], args[2]
    if doc is None:  # no stdin: read the file oned wrote (it holds plain XML in local mode)
        with open(dfile, 'rb') as fh:
            doc = ET.fromstring(fh.read())
    vm = vm_of(doc)
    if vm is None:
        raise ActionError('the deployment file holds no <VM>')
    iid = instance_id(text(vm, 'ID') or vmid)
    body, later = spawn_body(vm, conf, dfile)
    existing = _find(api, iid)
    if existing is None:
        info('spawning %s' % iid)
        api.run('PUT', ipath(iid), body=body, timeout=OPERATION_TIMEOUT)
        try:
            _add_disks(api, iid, later, [])
            if later:
                api.run('POST', ipath(iid, 'actions'), body={'action': 'power-on'},
                        timeout=OPERATION_TIMEOUT)
        except (ServiceError, OSError):  # a failed deploy leaves nothing in the pool
            api.run('DELETE', ipath(iid), timeout=OPERATION_TIMEOUT)
            raise
    elif existing['power_state'] != 'running':  # resume after poweroff or undeploy
        # disks attached while it was off (the TM only checked them) join it now
        _add_disks(api, iid, later, [d['device'] for d in existing['disks']])
        want = {k: body[k] for k in ('vcpus', 'memory_mb') if k in body}
        if any(existing.get(k) != v for k, v in want.items()):
            _resize(api, iid, want)
        drive = {k: body[k] for k in CONFIG_DRIVE if k in body}
        if drive:  # the context as it is now (updateconf while off)
            api.run('PUT', ipath(iid, 'config-drive'), body=drive, timeout=OPERATION_TIMEOUT)
        api.run('POST', ipath(iid, 'actions'), body={'action': 'power-on'},
                timeout=OPERATION_TIMEOUT)
    print(iid)


def _add_disks(api, iid, later, present):
    for dev, request in later:
        if dev not in present:
            api.run('PUT', ipath(iid, 'disks', dev), body=request, timeout=OPERATION_TIMEOUT)


def _find(api, iid):
    try:
        return api.get(ipath(iid))
    except ServiceError as err:
        if err.code == 'instance_not_found':
            return None
        raise


def _resize(api, iid, want):
    """Live where XAPI allows it; a halted instance changes in place."""
    body = dict(want, action='resize')
    api.run('POST', ipath(iid, 'actions'), body=body, timeout=OPERATION_TIMEOUT)


def _stop(api, deploy_id, doc, hard):
    lcm = text(vm_of(doc), 'LCM_STATE')
    if lcm in LCM_DESTROY:
        api.run('DELETE', ipath(deploy_id), timeout=OPERATION_TIMEOUT)
        return
    found = _find(api, deploy_id)
    if found is None or found['power_state'] == 'shutdown':
        return
    body = {'action': 'power-off', 'type': 'hard' if hard else 'clean'}
    api.run('POST', ipath(deploy_id, 'actions'), body=body, timeout=OPERATION_TIMEOUT)


def shutdown(api, conf, args, doc):
    """shutdown <deploy id> <host> <vmid> <host>"""
    _stop(api, args[0], doc, hard=False)


def cancel(api, conf, args, doc):
    """cancel <deploy id> <host> <vmid> <host>"""
    _stop(api, args[0], doc, hard=True)


def reboot(api, conf, args, doc):
    api.run('POST', ipath(args[0], 'actions'), body={'action': 'reboot', 'type': 'soft'},
            timeout=OPERATION_TIMEOUT)


def reset(api, conf, args, doc):
    api.run('POST', ipath(args[0], 'actions'), body={'action': 'reboot', 'type': 'hard'},
            timeout=OPERATION_TIMEOUT)


def save(api, conf, args, doc):
    """save <deploy id> <checkpoint> <host> <vmid> <host>: XAPI keeps the memory image itself."""
    api.run('POST', ipath(args[0], 'actions'), body={'action': 'suspend'},
            timeout=OPERATION_TIMEOUT)


def restore(api, conf, args, doc):
    """restore <checkpoint> <host> <deploy id> <vmid> <host>: the VM keeps its deploy id."""
    api.run('POST', ipath(args[2], 'actions'), body={'action': 'resume'},
            timeout=OPERATION_TIMEOUT)


def migrate(api, conf, args, doc):
    """migrate <deploy id> <destination host> <source host> <vmid> <host>: live, in the pool."""
    api.run('POST', ipath(args[0], 'actions'), body={'action': 'migrate', 'host': args[1]},
            timeout=OPERATION_TIMEOUT)


def _active_snapshot_name(doc, one_id):
    for snap in vm_of(doc).findall('TEMPLATE/SNAPSHOT') if vm_of(doc) is not None else []:
        if text(snap, 'ACTIVE') == 'YES' and text(snap, 'NAME'):
            return text(snap, 'NAME')
    return 'one-snapshot-%s' % one_id


def snapshot_create(api, conf, args, doc):
    """snapshot_create <deploy id> <ONE snapshot id> <vmid> <host>: prints the snapshot id."""
    if not args[1].isdigit():
        raise ActionError('not a snapshot id: %r' % args[1])
    snap_id = 'snap-%s' % args[1]
    api.run('PUT', ipath(args[0], 'snapshots', snap_id),
            body={'name': _active_snapshot_name(doc, args[1])}, timeout=OPERATION_TIMEOUT)
    print(snap_id)


def snapshot_revert(api, conf, args, doc):
    """snapshot_revert <deploy id> <snapshot id>: the VM runs again afterwards if it ran."""
    found = _find(api, args[0])
    body = {'power_on': bool(found and found['power_state'] == 'running')}
    api.run('POST', ipath(args[0], 'snapshots', args[1], 'revert'), body=body,
            timeout=OPERATION_TIMEOUT)


def snapshot_delete(api, conf, args, doc):
    api.run('DELETE', ipath(args[0], 'snapshots', args[1]), timeout=OPERATION_TIMEOUT)


def _attached(doc, kind):
    vm = vm_of(doc)
    for node in vm.findall('TEMPLATE/' + kind) if vm is not None else []:
        if text(node, 'ATTACH') == 'YES':
            return node
    raise ActionError('no %s marked ATTACH=YES in the driver message' % kind)


def _volume_vdi(disk):
    """The pool VDI a DISK names (XCD_VDI, or a uuid SOURCE): a volume, attached as it is."""
    vdi = text(disk, 'XCD_VDI') or text(disk, 'SOURCE')
    return vdi if vdi and _is_uuid(vdi) else None


def _is_uuid(value):
    parts = value.split('-')
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and \
        all(c in '0123456789abcdefABCDEF' for c in ''.join(parts))


def attach_disk(api, conf, args, doc):
    """attach_disk <deploy id> <disk path> <target> <index> <b64 message> <vmid> <host>: a
    volatile disk (blank), an image of an xcd datastore (a clone; a persistent image: the image
    itself) at DISK_ID's device; a pool VDI (XCD_VDI) as a volume at the target's index."""
    if doc is None and len(args) > 4 and args[4]:
        doc = ET.fromstring(base64.b64decode(args[4]))
    disk = _attached(doc, 'DISK')
    vdi = _volume_vdi(disk)
    if vdi:
        body = {'device': args[3]} if args[3].isdigit() and int(args[3]) < 100 else {}
        api.run('PUT', ipath(args[0], 'volumes', vdi), body=body, timeout=OPERATION_TIMEOUT)
        return
    api.run('PUT', ipath(args[0], 'disks', device(text(disk, 'DISK_ID'))), body=_disk_body(disk),
            timeout=OPERATION_TIMEOUT)


def detach_disk(api, conf, args, doc):
    """detach_disk <deploy id> <disk path> <target> <index> <vmid> <host>: a volume stays in
    the pool; the VM's own disk is destroyed; a persistent image is released (it stays the
    image, the TM's mvds finds it back in the datastore)."""
    disk = _attached(doc, 'DISK')
    vdi = _volume_vdi(disk)
    if vdi:
        api.run('DELETE', ipath(args[0], 'volumes', vdi), timeout=OPERATION_TIMEOUT)
        return
    api.run('DELETE', ipath(args[0], 'disks', device(text(disk, 'DISK_ID'))),
            timeout=OPERATION_TIMEOUT)


def attach_nic(api, conf, args, doc):
    """attach_nic <deploy id> <mac> <bridge> <model|-> <vn_mad> <target> <vmid> <host>"""
    mac = args[1].lower()
    vm = vm_of(doc) if doc is not None else None
    nic = next((n for n in (vm.findall('TEMPLATE/NIC') if vm is not None else [])
                if (text(n, 'MAC') or '').lower() == mac), None)
    if nic is not None:
        body = nic_place(nic, conf, bridge=args[2] or None)
    else:
        body = {'network': args[2] or conf.get('XCD_DEFAULT_NETWORK')}
    body['mac'] = mac
    api.run('POST', ipath(args[0], 'nics'), body=body, timeout=OPERATION_TIMEOUT)


def detach_nic(api, conf, args, doc):
    """detach_nic <deploy id> <mac> <vmid> <host>: the service names NICs by device."""
    mac = args[1].lower()
    for nic in api.get(ipath(args[0], 'nics'))['items']:
        if nic['mac'].lower() == mac:
            api.run('DELETE', ipath(args[0], 'nics', nic['device']), timeout=OPERATION_TIMEOUT)
            return
    info('no NIC with MAC %s: nothing to detach' % mac)


def reconfigure(api, conf, args, doc):
    """reconfigure <deploy id> <target device> <target path> <vmid> <host>, after updateconf
    and a NIC attach or detach of a running VM: the config drive rebuilt from the context file
    the message's TM_COMMAND (`CONTEXT xcd <context.sh> ...`) names, else its CONTEXT, with the
    NICs as they are now; the guest sees a media change. A VM without CONTEXT: nothing."""
    tm = (text(doc, 'TM_COMMAND') or '').split()
    path = tm[2] if len(tm) > 2 and tm[0].upper() == 'CONTEXT' else None
    context = context_at(vm_of(doc), path)
    if context is None:
        info('the VM has no CONTEXT: no config drive to rebuild')
        return
    api.run('PUT', ipath(args[0], 'config-drive'), body=config_drive(context),
            timeout=OPERATION_TIMEOUT)


def noop(api, conf, args, doc):
    """prereconfigure: reconfigure does the work; resize_disk: the transfer manager's resize
    grew the disk already."""


def resize(api, conf, args, doc):
    """resize <deploy id> <vmid> <host>: the new VCPU / MEMORY are in the message's template."""
    vm = vm_of(doc)
    want = {}
    if text(vm, 'TEMPLATE/VCPU'):
        want['vcpus'] = int(text(vm, 'TEMPLATE/VCPU'))
    if text(vm, 'TEMPLATE/MEMORY'):
        want['memory_mb'] = int(text(vm, 'TEMPLATE/MEMORY'))
    if not want:
        raise ActionError('the message carries no VCPU or MEMORY')
    _resize(api, args[0], want)


# action -> (handler, number of arguments before the trailing <vmid> <host>)
ACTIONS = {
    'deploy': (deploy, 2), 'shutdown': (shutdown, 2), 'cancel': (cancel, 2),
    'reboot': (reboot, 2), 'reset': (reset, 2), 'save': (save, 3), 'restore': (restore, 3),
    'migrate': (migrate, 3), 'snapshot_create': (snapshot_create, 2),
    'snapshot_revert': (snapshot_revert, 2), 'snapshot_delete': (snapshot_delete, 2),
    'attach_disk': (attach_disk, 5), 'detach_disk': (detach_disk, 4),
    'attach_nic': (attach_nic, 6), 'detach_nic': (detach_nic, 2),
    'prereconfigure': (noop, 2), 'reconfigure': (reconfigure, 3), 'resize': (resize, 1),
    'resize_disk': (noop, 5),
}


def info(message):
    sys.stderr.write('INFO: %s\n' % message)


def main(action, argv):
    """Run one action; returns the exit code one_vmm_exec reads (0 success, 1 failure)."""
    handler, nargs = ACTIONS[action]
    vmid = argv[nargs] if len(argv) > nargs else '-1'
    try:
        if len(argv) < nargs:
            raise ActionError('%s needs %d arguments, got %d' % (action, nargs, len(argv)))
        if handler is noop:
            return 0
        doc = read_stdin_xml()
        conf = config()
        handler(client(conf), conf, argv, doc)
        return 0
    except (ActionError, DiskError, ServiceError, OSError, ValueError, ET.ParseError) as err:
        message = ' '.join(str(err).split())  # one line: oned joins stderr lines into the reply
        sys.stderr.write('ERROR: %s %s: %s\n' % (vmid, action, message))
        sys.stderr.write('%s: %s\n' % (action, message))
        return 1
