# A VNC relay on the OpenNebula front-end for FireEdge: FireEdge's guacd connects to the VM's
# GRAPHICS PORT on the host's name with GRAPHICS PASSWD; the relay listens on those ports,
# checks that password (RFB 3.8 VNC Authentication), fetches a one-time `vnc` console of the
# instance from the service and authenticates to it, then passes the RFB bytes both ways.
# Owns: reading GRAPHICS from the deployment files oned writes (of VMs with an instance), the
# listeners, both handshakes, the DES of VNC Authentication. Must not: run a shell, or log a
# password.

import glob
import os
import re
import secrets
import selectors
import socket
import struct
import sys
import threading
import time
import xml.etree.ElementTree as ET

from xcd_one import client, config, text
from xcd_probe import instances
from xcd_rest import Client, ServiceError

RFB_VERSION = b'RFB 003.008\n'
SEC_NONE, SEC_VNC = 1, 2
HANDSHAKE_TIMEOUT = 30.0
RESCAN_SECONDS = 5.0
VMS_DIR = '/var/lib/one/vms'


# -- DES (FIPS 46-3), as VNC Authentication uses it ---------------------------------------------

_PC1 = [57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11,
        3, 60, 52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53,
        45, 37, 29, 21, 13, 5, 28, 20, 12, 4]
_PC2 = [14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
        41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36,
        29, 32]
_SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1]
_IP = [58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14,
       6, 64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19,
       11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7]
_FP = [_IP.index(i) + 1 for i in range(1, 65)]
_E = [32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, 16, 17,
      18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1]
_P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9,
      19, 13, 30, 6, 22, 11, 4, 25]
_S = [
    [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12,
     11, 9, 5, 3, 8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1,
     7, 5, 11, 3, 14, 10, 0, 6, 13],
    [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1,
     10, 6, 9, 11, 5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15,
     4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
    [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14,
     12, 11, 15, 1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8,
     7, 4, 15, 14, 3, 11, 5, 2, 12],
    [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12,
     1, 10, 14, 9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13,
     8, 9, 4, 5, 11, 12, 7, 2, 14],
    [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15,
     10, 3, 9, 8, 6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2,
     13, 6, 15, 0, 9, 10, 4, 5, 3],
    [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13,
     14, 0, 11, 3, 8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5,
     15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
    [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5,
     12, 2, 15, 8, 6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4,
     10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
    [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6,
     11, 0, 14, 9, 2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10,
     8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
]


def _bits(data):
    return [(byte >> (7 - i)) & 1 for byte in data for i in range(8)]


def _bytes(bits):
    return bytes(sum(b << (7 - i) for i, b in enumerate(bits[n:n + 8]))
                 for n in range(0, len(bits), 8))


def _permute(bits, table):
    return [bits[i - 1] for i in table]


def _subkeys(key):
    cd = _permute(_bits(key), _PC1)
    c, d, keys = cd[:28], cd[28:], []
    for shift in _SHIFTS:
        c, d = c[shift:] + c[:shift], d[shift:] + d[:shift]
        keys.append(_permute(c + d, _PC2))
    return keys


def des_encrypt_block(key, block):
    bits = _permute(_bits(block), _IP)
    left, right = bits[:32], bits[32:]
    for subkey in _subkeys(key):
        x = [a ^ b for a, b in zip(_permute(right, _E), subkey)]
        out = []
        for box in range(8):
            six = x[box * 6:box * 6 + 6]
            row = (six[0] << 1) | six[5]
            col = (six[1] << 3) | (six[2] << 2) | (six[3] << 1) | six[4]
            value = _S[box][row * 16 + col]
            out += [(value >> (3 - i)) & 1 for i in range(4)]
        left, right = right, [a ^ b for a, b in zip(left, _permute(out, _P))]
    return _bytes(_permute(right + left, _FP))


def vnc_response(password, challenge):
    """VNC Authentication's answer: the challenge DES-encrypted with the password (8 bytes,
    zero-padded) whose every byte has its bits reversed."""
    raw = password.encode('latin-1', 'replace')[:8].ljust(8, b'\0')
    key = bytes(int('{:08b}'.format(b)[::-1], 2) for b in raw)
    return des_encrypt_block(key, challenge[:8]) + des_encrypt_block(key, challenge[8:16])


# -- the VMs' GRAPHICS, from the deployment files oned writes -----------------------------------

def graphics(vms_dir, live):
    """{port: (vmid, password or None)} of every VM with an instance (`live`: the instance ids)
    whose latest deployment file has a VNC GRAPHICS with a PORT; of two VMs that name one port
    (oned gave a terminated VM's port again), the newer deployment file's."""
    found, written = {}, {}
    for vm_dir in glob.glob(os.path.join(vms_dir, '[0-9]*')):
        if 'one-%s' % os.path.basename(vm_dir) not in live:
            continue
        files = [(int(m.group(1)), f) for f in glob.glob(os.path.join(vm_dir, 'deployment.*'))
                 for m in [re.search(r'deployment\.([0-9]+)$', f)] if m]
        if not files:
            continue
        try:
            latest = max(files)[1]
            mtime = os.path.getmtime(latest)
            with open(latest, 'rb') as fh:
                doc = ET.fromstring(fh.read())
        except (OSError, ET.ParseError):
            continue
        vm = doc if doc.tag == 'VM' else doc.find('VM')
        if vm is None or (text(vm, 'TEMPLATE/GRAPHICS/TYPE') or '').upper() != 'VNC':
            continue
        port, vmid = text(vm, 'TEMPLATE/GRAPHICS/PORT'), text(vm, 'ID')
        if port and port.isdigit() and vmid and vmid.isdigit() and 0 < int(port) < 65536 \
                and mtime >= written.get(int(port), 0):
            found[int(port)] = (vmid, text(vm, 'TEMPLATE/GRAPHICS/PASSWD'))
            written[int(port)] = mtime
    return found


# -- one connection -----------------------------------------------------------------------------

def _read(sock, n):
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError('the peer closed the connection')
        data += chunk
    return data


def _fail(sock, reason):
    sock.sendall(struct.pack('>II', 1, len(reason)) + reason)


def accept_viewer(sock, password):
    """The server side of RFB 3.8 towards the viewer (guacd): VNC Authentication against the
    VM's GRAPHICS PASSWD (None without one). False when the viewer failed it."""
    sock.sendall(RFB_VERSION)
    if _read(sock, 12) not in (b'RFB 003.008\n', b'RFB 003.007\n'):
        raise ConnectionError('the viewer speaks no RFB 3.7 or 3.8')
    kind = SEC_VNC if password else SEC_NONE
    sock.sendall(bytes([1, kind]))
    if _read(sock, 1)[0] != kind:
        raise ConnectionError('the viewer chose another security type')
    if kind == SEC_VNC:
        challenge = secrets.token_bytes(16)
        sock.sendall(challenge)
        if not secrets.compare_digest(_read(sock, 16), vnc_response(password, challenge)):
            _fail(sock, b'authentication failed')
            return False
    sock.sendall(struct.pack('>I', 0))
    return True


def open_console(api, vmid):
    """The instance's one-time `vnc` console, authenticated: a socket at ClientInit."""
    con = api.get(Client.path('v1', 'instances', 'one-%s' % vmid, 'console'), {'type': 'vnc'})
    sock = socket.create_connection((con['host'], con['port']), timeout=HANDSHAKE_TIMEOUT)
    try:
        if not _read(sock, 12).startswith(b'RFB 003.'):
            raise ConnectionError('the console speaks no RFB')
        sock.sendall(RFB_VERSION)
        types = _read(sock, _read(sock, 1)[0])
        if SEC_VNC not in types:
            raise ConnectionError('the console offers no VNC Authentication')
        sock.sendall(bytes([SEC_VNC]))
        sock.sendall(vnc_response(con['password'], _read(sock, 16)))
        if struct.unpack('>I', _read(sock, 4))[0] != 0:
            raise ConnectionError('the console refused its one-time password')
        return sock
    except BaseException:
        sock.close()
        raise


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def relay(viewer, vmid, password, api):
    upstream = None
    try:
        viewer.settimeout(HANDSHAKE_TIMEOUT)
        if not accept_viewer(viewer, password):
            return
        upstream = open_console(api, vmid)
        viewer.settimeout(None)
        upstream.settimeout(None)
        back = threading.Thread(target=_pipe, args=(upstream, viewer), daemon=True)
        back.start()
        _pipe(viewer, upstream)
        back.join()
    except (OSError, ConnectionError, ServiceError, KeyError, ValueError) as err:
        log('VM %s: %s' % (vmid, ' '.join(str(err).split())))
    finally:
        for s in (viewer, upstream):
            if s is not None:
                s.close()


# -- the listeners ------------------------------------------------------------------------------

def log(message):
    sys.stderr.write('xcd-vnc-relay: %s\n' % message)
    sys.stderr.flush()


def serve(conf, stop=None):
    """Listen on every VNC GRAPHICS PORT of the VMs (re-read every few seconds) until `stop`."""
    listen = conf.get('XCD_VNC_LISTEN', '0.0.0.0')
    vms_dir = conf.get('XCD_ONE_VMS_DIR', VMS_DIR)
    api = client(conf)
    sel = selectors.DefaultSelector()
    listeners = {}  # port -> socket
    known = {}
    next_scan = 0.0
    while stop is None or not stop.is_set():
        if time.monotonic() >= next_scan:
            try:
                known = graphics(vms_dir, {i['id'] for i in instances(api)})
            except ServiceError as err:  # the service away: keep what is known, try again
                log(' '.join(str(err).split()))
            for port in [p for p in listeners if p not in known]:
                sel.unregister(listeners[port])
                listeners.pop(port).close()
                log('closed %s:%d' % (listen, port))
            for port in [p for p in known if p not in listeners]:
                try:
                    lsock = socket.create_server((listen, port), reuse_port=False)
                except OSError as err:
                    log('cannot listen on %s:%d: %s' % (listen, port, err))
                    continue
                lsock.setblocking(False)
                sel.register(lsock, selectors.EVENT_READ, port)
                listeners[port] = lsock
                log('VM %s: listening on %s:%d' % (known[port][0], listen, port))
            next_scan = time.monotonic() + RESCAN_SECONDS
        for key, _ in sel.select(timeout=0.5):
            try:
                viewer, _addr = key.fileobj.accept()
            except OSError:
                continue
            vmid, password = known[key.data]
            threading.Thread(target=relay, args=(viewer, vmid, password, api),
                             daemon=True).start()


def main():
    try:
        serve(config())
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError) as err:
        log(' '.join(str(err).split()))
        return 1
    return 0
