# What the CloudStack extension reads from CloudStack's payload: the operator's settings, the
# VM's template source, its NICs, and the spawn body they make. Must not: take anything saying
# where or how to reach the service (url, token, files, TLS, networks, SRs) from VM or template
# details, which users can set; call the service; run anything. Every value here is data.

import hashlib
import math
import re

ID_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$')
MIB = 1024 * 1024
GIB = 1024 * MIB

# The operator's details, most specific first: the host's (addHost externaldetails), the
# cluster's registration (registerExtension details), the extension's (createExtension details).
SETTING_SCOPES = ('host', 'resourcemap', 'extension')
# What a template's (or VM's) external details may name: the VM's own source image, nothing else.
SOURCE_KEYS = ('template', 'image', 'url')
VM_KEYS = SOURCE_KEYS + ('format', 'checksum')
FORMATS = {'raw': 'raw', 'img': 'raw', 'vhd': 'vhd', 'qcow2': 'qcow2', 'qcow': 'qcow2'}
CHECKSUM_LENGTHS = {'md5': 32, 'sha256': 64, 'sha512': 128}
VLAN_URI_RE = re.compile(r'^vlan://([0-9]{1,4})$', re.IGNORECASE)
# CloudStack's instance names, i-<account id>-<vm id>-<suffix>, and the ids of the images an
# account exports (every account shares the extension's one service namespace).
INSTANCE_NAME_RE = re.compile(r'^i-([0-9]+)-[0-9]+-')
ACCOUNT_IMAGE_RE = re.compile(r'^cs-([0-9]+)-')
UNTAGGED_URIS = ('', 'vlan://untagged', 'untagged')


class PayloadError(Exception):
    pass


def _strings(value, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError('%s is not an object' % where)
    return value


def setting(payload, key, default=None):
    """An operator setting: host details, then the cluster's, then the extension's. Never the
    VM's or the template's: a user who can set those must not redirect the service's calls."""
    ext = _strings(payload.get('externaldetails'), 'externaldetails')
    for scope in SETTING_SCOPES:
        value = _strings(ext.get(scope), 'externaldetails.' + scope).get(key)
        if value not in (None, ''):
            if not isinstance(value, str):
                raise PayloadError('the detail %s is not a string' % key)
            return value
    return default


def vm_detail(payload, key):
    """One of the VM's own details (VM_KEYS): `externaldetails.virtualmachine.<key>`, else the
    TO's `details["External:<key>"]` (CloudStack passes each template detail both ways)."""
    if key not in VM_KEYS:
        raise KeyError(key)
    ext = _strings(payload.get('externaldetails'), 'externaldetails')
    value = _strings(ext.get('virtualmachine'), 'externaldetails.virtualmachine').get(key)
    if value in (None, ''):
        details = _strings(vm_to(payload).get('details'), 'cloudstack.vm.details.details')
        value = details.get('External:' + key)
    if value in (None, ''):
        return None
    if not isinstance(value, str):
        raise PayloadError('the template detail %s is not a string' % key)
    return value


def vm_to(payload):
    return _strings(payload.get('cloudstack.vm.details'), 'cloudstack.vm.details')


def vm_name(payload):
    name = payload.get('virtualmachinename') or vm_to(payload).get('name')
    if not name or not isinstance(name, str):
        raise PayloadError('the payload names no virtual machine (virtualmachinename)')
    return name


def vm_account(payload):
    """The CloudStack account id in the instance's name, None when the name has another form."""
    m = INSTANCE_NAME_RE.match(vm_name(payload))
    return m.group(1) if m else None


def account_image_id(payload, name):
    """The service image id under which the VM's account keeps an image it names `name`:
    `cs-<account id>-<name>`, which only that account's templates may name."""
    account = vm_account(payload)
    if account is None:
        raise PayloadError('the instance name carries no CloudStack account')
    image = 'cs-%s-%s' % (account, name)
    if not isinstance(name, str) or not ID_RE.match(image) or not ID_RE.match(name):
        raise PayloadError('not an image name: %r' % str(name)[:200])
    return image


def instance_id(payload):
    """CloudStack's instance name (i-<account>-<vm>-VM) when it is a valid id, else its uuid."""
    name = vm_name(payload)
    if ID_RE.match(name):
        return name
    uuid = payload.get('virtualmachineid') or vm_to(payload).get('uuid')
    if not isinstance(uuid, str) or not ID_RE.match(uuid):
        raise PayloadError('neither the VM name nor its id can name an instance')
    return uuid


# -- template source --------------------------------------------------------------------------

class UrlSource:
    """A template image at a URL, imported into the service's images once under `image_id`,
    derived from what every payload of that template carries: the URL, format and checksum."""

    def __init__(self, url, fmt, checksum):
        self.url = url
        self.format = fmt
        self.checksum = checksum
        key = '\n'.join((url, fmt, checksum or ''))
        self.image_id = 'cs-' + hashlib.sha256(key.encode('utf-8')).hexdigest()[:40]

    def import_body(self):
        body = {'source_url': self.url, 'format': self.format}
        if self.checksum:
            body['checksum'] = self.checksum
        return body


def template_source(payload):
    """('template'|'image', value) or ('url', UrlSource): exactly one source. An image an
    account exported (cs-<account id>-...) serves that account's instances only."""
    given = {}
    for key in SOURCE_KEYS:
        value = vm_detail(payload, key)
        if value is not None:
            given[key] = value
    if len(given) > 1:
        raise PayloadError('the template names more than one source (%s): give exactly one of %s'
                           % (', '.join(sorted(given)), ', '.join(SOURCE_KEYS)))
    if not given:
        raise PayloadError('the template names no source: register it with the external detail '
                           'template=<pool template>, image=<service image id> or url=<image URL>')
    key, value = given.popitem()
    if key == 'url':
        return key, url_source(payload, value)
    if key == 'image':
        if not ID_RE.match(value):
            raise PayloadError('not a service image id: %r' % value[:200])
        owner = ACCOUNT_IMAGE_RE.match(value)
        if owner and owner.group(1) != vm_account(payload):
            raise PayloadError('image %s belongs to another account' % value)
    return key, value


def url_source(payload, url):
    if len(url) > 2048 or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise PayloadError('the template URL is not a URL: %r' % url[:200])
    named = vm_detail(payload, 'format')
    if named:
        fmt = FORMATS.get(named.strip().lower())
        if fmt is None:
            raise PayloadError('the template format %r is not one of raw, vhd, qcow2' % named)
    else:
        suffix = url.split('?', 1)[0].split('#', 1)[0].rsplit('.', 1)[-1].lower()
        fmt = FORMATS.get(suffix)
        if fmt is None:
            raise PayloadError('the template URL needs the external detail format=raw|vhd|qcow2')
    checksum = vm_detail(payload, 'checksum')
    return UrlSource(url, fmt, service_checksum(checksum) if checksum else None)


def service_checksum(text):
    """CloudStack's `{SHA-256}<hex>` / `{MD5}<hex>` / bare hex, or `sha256:<hex>`, as the
    service's `<algorithm>:<hex>`."""
    text = text.strip()
    m = re.match(r'^\{([A-Za-z0-9-]+)\}([0-9A-Fa-f]+)$', text) or \
        re.match(r'^([A-Za-z0-9-]+):([0-9A-Fa-f]+)$', text)
    if m:
        algo, digest = m.group(1).lower().replace('-', ''), m.group(2)
    else:
        digest = text
        algo = {32: 'md5', 64: 'sha256', 128: 'sha512'}.get(len(text), '?')
    if CHECKSUM_LENGTHS.get(algo) != len(digest) or not re.match(r'^[0-9A-Fa-f]+$', digest):
        raise PayloadError('the template checksum %r is not an md5, sha256 or sha512 digest'
                           % text[:200])
    return '%s:%s' % (algo, digest.lower())


# -- NICs ---------------------------------------------------------------------------------------

def nic_place(payload, broadcast_uri, label):
    """Where a NIC goes: `vlan://N` on the service's network of VLAN N (made on demand within
    the service's --vlan-range) unless the setting network.vlan.N maps it to a pool network;
    untagged on the setting `network`."""
    uri = broadcast_uri if isinstance(broadcast_uri, str) else ''
    m = VLAN_URI_RE.match(uri)
    if m:
        tag = int(m.group(1))
        mapped = setting(payload, 'network.vlan.%d' % tag)
        return {'network': mapped} if mapped else {'vlan': tag}
    if uri.lower() not in UNTAGGED_URIS:
        raise PayloadError('NIC %s: broadcastUri %r is neither vlan://N nor untagged'
                           % (label, uri[:200]))
    network = setting(payload, 'network')
    if not network:
        raise PayloadError('NIC %s is untagged and no default network is set: add the host '
                           'detail network=<pool network>' % label)
    return {'network': network}


def nic_requests(payload):
    """The TO's NICs in CloudStack's device order, each with its MAC."""
    nics = vm_to(payload).get('nics') or []
    if not isinstance(nics, list) or not all(isinstance(n, dict) for n in nics):
        raise PayloadError('cloudstack.vm.details.nics is not a list of NICs')
    out = []
    for nic in sorted(nics, key=lambda n: n.get('deviceId') if isinstance(n.get('deviceId'), int)
                      else 0):
        label = nic.get('deviceId', len(out))
        entry = nic_place(payload, nic.get('broadcastUri'), label)
        mac = nic.get('mac')
        if mac is not None:
            if not isinstance(mac, str):
                raise PayloadError('NIC %s: the MAC is not a string' % label)
            entry['mac'] = mac.lower()
        out.append(entry)
    return out


# -- spawn --------------------------------------------------------------------------------------

def _root_size_gb(to):
    for disk in to.get('disks') or []:
        if not isinstance(disk, dict) or disk.get('type') != 'ROOT':
            continue
        for wrapped in (disk.get('data') or {}).values():
            size = (wrapped or {}).get('size') if isinstance(wrapped, dict) else None
            if isinstance(size, (int, float)) and size > 0:
                return max(1, int(math.ceil(size / GIB)))
    return None


def spawn_body(payload, source):
    """The service's SpawnRequest; `source` is {'template'|'image': value}."""
    to = vm_to(payload)
    if not to:
        raise PayloadError('the payload has no cloudstack.vm.details')
    body = {'name': vm_name(payload), 'power_on': True}
    body.update(source)
    cpus = to.get('cpus')
    if cpus:
        if not isinstance(cpus, int):
            raise PayloadError('cloudstack.vm.details.cpus is not a number')
        body['vcpus'] = cpus
    ram = to.get('maxRam') or to.get('minRam')
    if ram:
        if not isinstance(ram, int):
            raise PayloadError('cloudstack.vm.details.maxRam is not a number')
        body['memory_mb'] = max(16, ram // MIB)
    root = _root_size_gb(to)
    if root:
        body['root_disk_gb'] = root
    sr = setting(payload, 'sr')
    if sr:
        body['sr'] = sr
    nics = nic_requests(payload)
    if nics:
        body['nics'] = nics
    body['metadata'] = {'cloudstack_vm_uuid': payload.get('virtualmachineid'),
                        'cloudstack_vm_name': body['name']}
    return body
