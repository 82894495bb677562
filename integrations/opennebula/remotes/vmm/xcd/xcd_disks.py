# The disks of the xcd driver, shared by its VMM actions, its transfer manager (tm/xcd) and its
# datastore (datastore/xcd): an OpenNebula image's SOURCE (the service's image id), where each
# DISK_ID sits on the instance, the request that makes a DISK, and a local image file's format.
# Must not: call the service (the callers do), or start a program other than `qemu-img info`.

import json
import math
import os
import re
import shutil
import subprocess

# The instance a VM becomes, and the image an OpenNebula image becomes.
INSTANCE_PREFIX = 'one-'
IMAGE_PREFIX = 'one-image-'
# The formats the service imports (its ImageFormat), and the one disks travel in between two of
# its calls (clone, save-as, export): every xapi exports VHD, qcow2 only from xapi 25.27 on.
FORMATS = ('raw', 'qcow2', 'vhd')
TRANSFER_FORMAT = 'vhd'
# Device positions: DISK_ID 0 is the root disk at device 0; the config drive the spawn makes
# from CONTEXT takes the lowest free position, 1; DISK_ID n > 0 sits at device n + 1.
ROOT_DISK_ID = 0
LAST_DEVICE = 99
MiB = 1024 * 1024
GiB = 1024 * MiB
# Formats the pool cannot take, by their magic bytes (`qemu-img info` names more of them), and
# compressed files (qemu-img calls them raw).
FOREIGN_MAGIC = ((0, b'KDMV', 'vmdk'), (0, b'# Disk DescriptorFile', 'vmdk'),
                 (0, b'vhdxfile', 'vhdx'), (0, b'QED\x00', 'qed'), (64, b'\x7f\x10\xda\xbe', 'vdi'),
                 (0, b'\x1f\x8b', 'gzip-compressed'), (0, b'BZh', 'bzip2-compressed'),
                 (0, b'\xfd7zXZ\x00', 'xz-compressed'))


class DiskError(Exception):
    pass


def _digits(value, what):
    value = str(value).strip()
    if not value.isdigit() or len(value) > 12:
        raise DiskError('not %s: %r' % (what, value))
    return str(int(value))


def instance_id(vmid):
    return INSTANCE_PREFIX + _digits(vmid, 'a VM id')


def image_id(one_image_id):
    """The service image an OpenNebula image becomes: its SOURCE."""
    return IMAGE_PREFIX + _digits(one_image_id, 'an image id')


def source_image(source):
    """The service image id a DISK's SOURCE (or a TM argument `fe:SOURCE`) names."""
    value = (source or '').strip()
    if ':' in value:
        value = value.rsplit(':', 1)[1]
    if not re.fullmatch(IMAGE_PREFIX + r'[0-9]{1,12}', value):
        raise DiskError('not an image of an xcd datastore: %r' % source)
    return value


def device(disk_id):
    """The device position of DISK_ID on the instance."""
    n = int(_digits(disk_id, 'a disk id'))
    position = 0 if n == ROOT_DISK_ID else n + 1
    if position > LAST_DEVICE:
        raise DiskError('DISK_ID %d has no device position (at most %d)' % (n, LAST_DEVICE - 1))
    return str(position)


def disk_id_of_path(path):
    """The DISK_ID of a system datastore path `host:/.../<vmid>/disk.<n>`, None for the VM's
    directory itself."""
    tail = path.rsplit('/', 1)[-1]
    m = re.fullmatch(r'disk\.([0-9]{1,6})', tail)
    return int(m.group(1)) if m else None


def size_gb(size_mb):
    """OpenNebula's SIZE (MB) as whole GiB, rounded up."""
    mb = int(_digits(size_mb, 'a size in MB'))
    if mb < 1:
        raise DiskError('a disk of 0 MB')
    return max(1, math.ceil(mb / 1024))


def is_volatile(disk_type):
    return (disk_type or '').strip().lower() in ('fs', 'swap')


def is_persistent(persistent, clone=None):
    """A DISK of a persistent image (PERSISTENT="YES", or CLONE="NO"): the VM uses the image's
    own disk, which goes back to the datastore (tm mvds) when it is detached or terminated."""
    return (persistent or '').strip().upper() == 'YES' or (clone or '').strip().upper() == 'NO'


def disk_request(disk_type, source, size_mb, persistent=False):
    """The body of `PUT /disks/{device}` for a DISK: a blank disk, a clone of its image, or
    (persistent) the image itself, which the service attaches as it is (never grown)."""
    if is_volatile(disk_type):
        return {'size_gb': size_gb(size_mb)}
    body = {'image': source_image(source)}
    if persistent:
        body['persistent'] = True
    elif size_mb:
        body['size_gb'] = size_gb(size_mb)
    return body


# -- local image files (the datastore's cp, stat, mkfs) -----------------------------------------

def _qemu_img_info(path):
    exe = shutil.which('qemu-img')
    if not exe:
        return None
    try:
        out = subprocess.run([exe, 'info', '--output=json', '--', path], capture_output=True,
                             timeout=60, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    try:
        info = json.loads(out.stdout.decode('utf-8'))
    except ValueError:
        return None
    return info if isinstance(info, dict) else None


def magic_format(path, length):
    with open(path, 'rb') as fh:
        head = fh.read(512)
        tail = b''
        if length >= 512:
            fh.seek(length - 512)
            tail = fh.read(512)
    for offset, magic, name in FOREIGN_MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return name, None
    if head[:4] == b'QFI\xfb' and len(head) >= 32:
        return 'qcow2', int.from_bytes(head[24:32], 'big')
    for footer in (head, tail):  # a dynamic VHD copies its footer at the start; a fixed one not
        if footer[:8] == b'conectix' and len(footer) >= 56:
            return 'vhd', int.from_bytes(footer[48:56], 'big')
    return 'raw', length


def image_file(path):
    """(format, virtual size in bytes, file length) of a local image file; DiskError when it is
    missing, unreadable, or in a format the pool cannot take."""
    if not os.path.isfile(path):
        raise DiskError('no image file at %r' % path)
    if not os.access(path, os.R_OK):
        raise DiskError('the image file %r is not readable' % path)
    length = os.path.getsize(path)
    fmt, virtual = magic_format(path, length)
    info = _qemu_img_info(path)
    if info is not None:
        named = {'vpc': 'vhd'}.get(info.get('format'), info.get('format'))
        if named and (named != 'raw' or fmt == 'raw'):  # qemu-img knows more formats than magic
            fmt = named
        if isinstance(info.get('virtual-size'), int):
            virtual = info['virtual-size']
    if fmt not in FORMATS:
        raise DiskError('the image is %s; the pool takes %s' % (fmt, ', '.join(FORMATS)))
    if virtual is None or virtual <= 0:
        raise DiskError('the image %r is empty' % path)
    return fmt, virtual, length


def size_mb(nbytes):
    return max(1, math.ceil(nbytes / MiB))
