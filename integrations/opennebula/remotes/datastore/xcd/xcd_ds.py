# OpenNebula datastore driver `xcd` (one_datastore): an image datastore whose images are the
# xen-compute-driver's images. An image's SOURCE is the service's image id (one-image-<ID>).
# Owns: each action's argv (the image or datastore id), the Base64 DS_DRIVER_ACTION_DATA on
# stdin, the REST calls, the stdout one_datastore passes to oned, `ERROR:`/`INFO:` lines, exits.
# Must not: run a shell, or keep image bytes on the front-end beyond a streamed transfer.

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'vmm', 'xcd'))

from xcd_disks import (FORMATS, TRANSFER_FORMAT, MiB, DiskError, image_file,  # noqa: E402
                       image_id, magic_format, size_mb, source_image)
from xcd_one import OPERATION_TIMEOUT, client, config  # noqa: E402
from xcd_rest import Client, ServiceError  # noqa: E402

PEEK_BYTES = 512
URL_TIMEOUT = 60
SAFE_DIR = re.compile(r'^/[A-Za-z0-9_./-]*$')


class ActionError(Exception):
    pass


def read_message():
    raw = sys.stdin.buffer.read().strip() if not sys.stdin.isatty() else b''
    if not raw:
        raise ActionError('no DS_DRIVER_ACTION_DATA on stdin')
    try:
        return ET.fromstring(base64.b64decode(raw, validate=True))
    except (ValueError, ET.ParseError) as err:
        raise ActionError('stdin is not the Base64 XML oned sends: %s' % err)


def text(node, path, default=None):
    found = node.find(path) if node is not None else None
    if found is None or found.text is None or not found.text.strip():
        return default
    return found.text.strip()


def info(message):
    sys.stderr.write('INFO: %s\n' % message)


def ipath(image, *rest):
    return Client.path('v1', 'images', image, *rest)


def _import_query(msg, fmt):
    query = {'format': fmt}
    name = text(msg, 'IMAGE/NAME')
    if name:
        query['name'] = name[:255]
    sr = text(msg, 'DATASTORE/TEMPLATE/XCD_SR')
    if sr:
        query['sr'] = sr
    md5 = text(msg, 'IMAGE/TEMPLATE/MD5')
    if md5 and re.fullmatch(r'[0-9a-fA-F]{32}', md5):
        query['checksum'] = 'md5:' + md5
    return query


class Progress:
    """The chunks of a binary file object, reporting every tenth of `total` as an INFO line."""

    def __init__(self, fh, total, label):
        self.fh, self.total, self.label = fh, max(1, total), label

    def __iter__(self):
        done, tenth = 0, 1
        for chunk in chunks(self.fh):
            done += len(chunk)
            while tenth <= 10 and done * 10 >= tenth * self.total:
                info('%s: %d%% (%d of %d MiB)' % (self.label, tenth * 10, done // MiB,
                                                self.total // MiB))
                tenth += 1
            yield chunk


def chunks(fh):
    return iter(lambda: fh.read(MiB), b'')


# -- URLs ---------------------------------------------------------------------------------------

def _is_url(path):
    return re.match(r'^https?://', path or '', re.IGNORECASE) is not None


def _peek_url(url):
    """(first bytes, total length or None) of a URL, from a ranged GET."""
    req = urllib.request.Request(url, headers={'Range': 'bytes=0-%d' % (PEEK_BYTES - 1),
                                               'User-Agent': 'xcd-opennebula'})
    try:
        with urllib.request.urlopen(req, timeout=URL_TIMEOUT) as resp:
            head = resp.read(PEEK_BYTES)
            total = None
            m = re.match(r'bytes \d+-\d+/(\d+)', resp.headers.get('Content-Range') or '')
            if m:
                total = int(m.group(1))
            elif resp.status == 200 and resp.headers.get('Content-Length'):
                total = int(resp.headers['Content-Length'])
            return head, total
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise ActionError('cannot read %s: %s' % (url, getattr(err, 'reason', err)))


def _url_image(url):
    """(format, virtual size or None) of the image at a URL, from its first bytes."""
    head, total = _peek_url(url)
    with tempfile.NamedTemporaryFile() as tmp:
        tmp.write(head)
        tmp.flush()
        fmt, virtual = magic_format(tmp.name, len(head))
    if fmt not in FORMATS:
        raise ActionError('the image at the URL is %s; the pool takes %s'
                          % (fmt, ', '.join(FORMATS)))
    return fmt, (total if fmt == 'raw' else virtual)


# -- actions ------------------------------------------------------------------------------------

def stat(api, msg, _id):
    """stat <image id>: the size in MB of the image at IMAGE/PATH (its virtual size)."""
    path = text(msg, 'IMAGE/PATH')
    if not path:
        raise ActionError('the image has no PATH')
    if _is_url(path):
        _, virtual = _url_image(path)
        if not virtual:
            raise ActionError('cannot tell the size of %s' % path)
    else:
        _, virtual, _ = image_file(path)
    print(size_mb(virtual))


def cp(api, msg, one_id):
    """cp <image id>: import IMAGE/PATH (a file, or an http(s) URL the service downloads);
    prints `SOURCE FORMAT`."""
    image = image_id(text(msg, 'IMAGE/ID') or one_id)
    path = text(msg, 'IMAGE/PATH')
    if not path:
        raise ActionError('the image has no PATH')
    if _is_url(path):
        fmt, _ = _url_image(path)
        body = {'source_url': path, 'format': fmt}
        body.update({k: v for k, v in _import_query(msg, fmt).items() if k != 'format'})
        info('%s: the service downloads %s (%s)' % (image, path, fmt))
        api.run('PUT', ipath(image), body=body, timeout=OPERATION_TIMEOUT,
                progress=lambda op: info('%s download: %d%%' % (image, op['progress'] * 100)))
    elif re.match(r'^[a-z][a-z0-9+.-]*://', path, re.IGNORECASE):
        raise ActionError('the xcd datastore imports files and http(s) URLs, not %s'
                          % path.split(':', 1)[0])
    else:
        fmt, _, length = image_file(path)
        with open(path, 'rb') as fh:
            api.upload(ipath(image), Progress(fh, length, '%s upload' % image),
                       query=_import_query(msg, fmt), length=length, timeout=OPERATION_TIMEOUT)
    print('%s %s' % (image, fmt))


def mkfs(api, msg, one_id):
    """mkfs <image id>: a new empty DATABLOCK image of SIZE MB (qcow2 when qemu-img is there,
    raw zeros otherwise); an image of disk-saveas (FORMAT save_as) is only named here and filled
    by the transfer manager's cpds. Prints SOURCE."""
    image = image_id(text(msg, 'IMAGE/ID') or one_id)
    if text(msg, 'IMAGE/FORMAT') == 'save_as':
        print(image)
        return
    size = int(text(msg, 'IMAGE/SIZE', '0'))
    if size < 1:
        raise ActionError('the image has no SIZE')
    qemu_img = shutil.which('qemu-img')
    if qemu_img:
        with tempfile.TemporaryDirectory(prefix='xcd-mkfs-') as tmp:
            blank = os.path.join(tmp, 'blank.qcow2')
            subprocess.run([qemu_img, 'create', '-q', '-f', 'qcow2', blank, '%dM' % size],
                           check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
            with open(blank, 'rb') as fh:
                api.upload(ipath(image), chunks(fh), query=_import_query(msg, 'qcow2'),
                           timeout=OPERATION_TIMEOUT)
    else:
        api.upload(ipath(image), (bytes(MiB) for _ in range(size)),
                   query=_import_query(msg, 'raw'), length=size * MiB, timeout=OPERATION_TIMEOUT)
    print(image)


def clone(api, msg, one_id):
    """clone <image id>: a copy of the image IMAGE/PATH names (the source's SOURCE), streamed
    out of the service and back in. Prints `SOURCE FORMAT`."""
    image = image_id(text(msg, 'IMAGE/ID') or one_id)
    source = source_image(text(msg, 'IMAGE/PATH'))
    copy_image(api, source, image, _import_query(msg, TRANSFER_FORMAT))
    print('%s %s' % (image, TRANSFER_FORMAT))


def copy_image(api, source, target, query):
    with api.download(ipath(source, 'file'), {'format': query['format']}) as resp:
        length = resp.headers.get('Content-Length')
        body = Progress(resp, int(length), '%s copy' % target) if length else chunks(resp)
        api.upload(ipath(target), body, query=query, timeout=OPERATION_TIMEOUT)


def rm(api, msg, _id):
    """rm <image id>: delete the image SOURCE names (gone already is fine)."""
    source = source_image(text(msg, 'IMAGE/SOURCE'))
    api.request('DELETE', ipath(source))


def monitor(api, msg, _id):
    """monitor <datastore id>: the space of the SR the images live on (DATASTORE/TEMPLATE/XCD_SR,
    else the pool's default SR), as USED_MB / TOTAL_MB / FREE_MB lines."""
    print(sr_space(api, text(msg, 'DATASTORE/TEMPLATE/XCD_SR')))


def sr_space(api, sr_uuid):
    srs = api.get('/v1/srs')['items']
    sr = next((s for s in srs if (s['uuid'] == sr_uuid if sr_uuid else s['default'])), None)
    if sr is None:
        raise ActionError('no SR %s in the pool' % (sr_uuid or '(default)'))
    return 'USED_MB=%d\nTOTAL_MB=%d\nFREE_MB=%d' % (
        sr['used_gb'] * 1024, sr['size_gb'] * 1024, max(0, sr['free_gb']) * 1024)


def export(api, msg, _id):
    """export <image id>: the image's bytes (VHD) into a staging file for a marketplace,
    printed as oned's IMPORT_INFO; the marketplace removes the file (DISPOSE)."""
    source = source_image(text(msg, 'IMAGE/SOURCE'))
    staging = text(msg, 'DATASTORE/TEMPLATE/STAGING_DIR', '/var/tmp')
    if not SAFE_DIR.match(staging):
        raise ActionError('STAGING_DIR is not a plain absolute path: %r' % staging)
    digest = hashlib.md5()
    fd, path = tempfile.mkstemp(prefix='xcd-export-', suffix='.vhd', dir=staging)
    try:
        with os.fdopen(fd, 'wb') as out, \
                api.download(ipath(source, 'file'), {'format': TRANSFER_FORMAT}) as resp:
            for chunk in chunks(resp):
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    size = text(msg, 'IMAGE/SIZE', '0')
    print('<IMPORT_INFO><IMPORT_SOURCE><![CDATA[%s]]></IMPORT_SOURCE>'
          '<MD5><![CDATA[%s]]></MD5><SIZE><![CDATA[%s]]></SIZE>'
          '<FORMAT><![CDATA[%s]]></FORMAT><DISPOSE>YES</DISPOSE>'
          '<DISPOSE_CMD><![CDATA[rm -f %s]]></DISPOSE_CMD></IMPORT_INFO>'
          % (path, digest.hexdigest(), size if size.isdigit() else '0', TRANSFER_FORMAT, path))


def unsupported(api, msg, _id):
    raise ActionError('image snapshots are not kept by the xcd datastore')


ACTIONS = {
    'stat': stat, 'cp': cp, 'mkfs': mkfs, 'clone': clone, 'rm': rm, 'monitor': monitor,
    'export': export, 'snap_delete': unsupported, 'snap_revert': unsupported,
    'snap_flatten': unsupported,
}


def main(action, argv):
    """Run one action as one_datastore does: `<action> <id>`, the message on stdin."""
    one_id = argv[0] if argv else '-1'
    try:
        if not argv:
            raise ActionError('%s needs the image or datastore id' % action)
        msg = read_message()
        ACTIONS[action](client(config()), msg, one_id)
        return 0
    except (ActionError, DiskError, ServiceError, OSError, ValueError,
            subprocess.SubprocessError, ET.ParseError) as err:
        message = ' '.join(str(err).split())
        sys.stderr.write('ERROR: %s %s: %s\n' % (action, one_id, message))
        sys.stderr.write('%s: %s\n' % (action, message))
        return 1
