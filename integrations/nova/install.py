#!/usr/bin/env python3
# Installs the xcd Nova driver next to an installed Nova: the xcd_nova package, with the shared
# REST client (../common/xcd_rest.py) copied into it as xcd_nova.xcd_rest, into a site directory,
# and the nova.virt.xcd shim into the directory of the nova.virt package that Nova itself imports
# (Nova loads drivers only from nova.virt.*). Must not: touch nova.conf or restart services.
# Usage: python3 install.py [--site-dir DIR] [--nova-virt-dir DIR] [--dry-run]

import argparse
import os
import shutil
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_CLIENT = os.path.join(os.path.dirname(HERE), 'common', 'xcd_rest.py')


def nova_virt_dir():
    import nova.virt  # the interpreter nova-compute runs with must run this script
    return os.path.dirname(os.path.abspath(nova.virt.__file__))


def copy_tree(src, dst, dry_run):
    print('%s -> %s' % (src, dst))
    if dry_run:
        return
    if os.path.isdir(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


def copy_file(src, dst, dry_run):
    print('%s -> %s' % (src, dst))
    if not dry_run:
        shutil.copyfile(src, dst)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--site-dir', default=sysconfig.get_paths()['purelib'],
                        help='where the xcd_nova package goes (default: %(default)s)')
    parser.add_argument('--nova-virt-dir', help='the nova/virt directory (default: imported)')
    parser.add_argument('--dry-run', action='store_true')
    args = parser.parse_args(argv)
    if not os.path.isfile(SHARED_CLIENT):
        parser.error('%s is missing: run install.py from a checkout of the whole '
                     'integrations/ directory' % SHARED_CLIENT)
    virt = args.nova_virt_dir or nova_virt_dir()
    package = os.path.join(args.site_dir, 'xcd_nova')
    copy_tree(os.path.join(HERE, 'xcd_nova'), package, args.dry_run)
    copy_file(SHARED_CLIENT, os.path.join(package, 'xcd_rest.py'), args.dry_run)
    copy_tree(os.path.join(HERE, 'nova', 'virt', 'xcd'), os.path.join(virt, 'xcd'),
              args.dry_run)
    print('set [DEFAULT] compute_driver = xcd.XcdDriver and the [xcd] options in nova.conf')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
